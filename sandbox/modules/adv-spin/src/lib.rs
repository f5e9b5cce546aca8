//! Never returns, in `contribute` and in its scalar function `spin`: the fuel or the deadline
//! must stop it.
use cleanroom_guest::arrow_array::ArrayRef;
use cleanroom_guest::{Analytics, Error, Function, RecordBatch, ScalarType};

fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = x.wrapping_add(std::hint::black_box(1));
        if std::hint::black_box(x) == u64::MAX {
            x = 0;
        }
    }
}

struct Spin;

impl Analytics for Spin {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        spin()
    }

    fn functions() -> Vec<Function> {
        vec![Function {
            name: "spin".into(),
            params: vec![ScalarType::Int64],
            returns: ScalarType::Int64,
        }]
    }

    fn call(_name: &str, _args: RecordBatch) -> Result<ArrayRef, Error> {
        spin()
    }
}

cleanroom_guest::export!(Spin);
