//! Guest scalar functions in SQL jobs: a component's `functions` registered into the job's
//! session as opaque scalar UDFs. The guard knows them by name and treats each as a
//! transformation that can be reversed (DESIGN.md §5): allowed inside aggregates and on
//! `output` columns, never as a released row-level value derived from protected data.
//!
//! One instance serves the whole job; calls from parallel partitions take turns. Each call
//! runs on a thread of its own, outside the async runtime, because WASI's synchronous calls
//! may block on a runtime of their own.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use cleanroom_wasm::{Failure, Function, Host, Instance, Module, Usage};
use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::logical_expr::registry::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use serde::Serialize;

use crate::wasm::component_failure;
use crate::{Error, Result, internal};

/// The scalar functions of one component, offered to one SQL job.
#[derive(Clone)]
pub struct GuestFunctions {
    pub host: Arc<Host>,
    pub module: Arc<Module>,
    /// Seeds the instance's random source, so that a run can be replayed.
    pub seed: u64,
}

/// What a job's guest functions did, for its report: the component by hash, the functions it
/// offered, and the resources its calls used.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct FunctionsUse {
    pub component: String,
    pub functions: Vec<String>,
    pub calls: u64,
    pub fuel: u64,
    pub peak_memory_bytes: usize,
}

/// The instance shared by a job's functions, and the first failure any call met.
pub(crate) struct Registered {
    instance: Arc<Mutex<Instance>>,
    failure: Arc<Mutex<Option<Failure>>>,
    pub(crate) names: Vec<String>,
    digest: String,
}

impl Registered {
    /// The first classified failure of a call, if any, with the usage so far.
    pub(crate) fn failure(&self) -> Option<Error> {
        let failure = self.failure.lock().ok()?.clone()?;
        Some(component_failure(failure, self.usage()))
    }

    fn usage(&self) -> Usage {
        self.instance.lock().map(|i| i.usage()).unwrap_or_default()
    }

    pub(crate) fn report(&self) -> FunctionsUse {
        let usage = self.usage();
        FunctionsUse {
            component: self.digest.clone(),
            functions: self.names.clone(),
            calls: usage.calls,
            fuel: usage.fuel,
            peak_memory_bytes: usage.peak_memory_bytes,
        }
    }
}

/// Instantiates the component, lists its functions and registers each into `session`. A name
/// that is already a function of the session (a built-in) is refused: a guest must not shadow
/// `sum` or `count`.
pub(crate) async fn register(
    functions: &GuestFunctions,
    session: &mut SessionState,
) -> Result<Registered> {
    let (host, module, seed) = (
        Arc::clone(&functions.host),
        Arc::clone(&functions.module),
        functions.seed,
    );
    let (instance, listed) = tokio::task::spawn_blocking(move || {
        let mut instance = host.instantiate(&module, seed)?;
        let listed = instance.functions();
        Ok::<_, Failure>((instance, listed))
    })
    .await
    .map_err(internal)?
    .map_err(|f| component_failure(f, Usage::default()))?;
    let listed = listed.map_err(|f| component_failure(f, instance.usage()))?;
    // A name the session or the guard knows (the guard also classifies names the session
    // plans without a registered function, such as `extract`) would be reasoned about as that
    // built-in: refused.
    if let Some(f) = listed.iter().find(|f| {
        session.scalar_functions().contains_key(&f.name)
            || session.aggregate_functions().contains_key(&f.name)
            || session.window_functions().contains_key(&f.name)
            || cleanroom_guard::functions::scalar_class(&f.name).is_some()
            || cleanroom_guard::functions::aggregate_class(&f.name).is_some()
            || cleanroom_guard::functions::window_class(&f.name).is_some()
    }) {
        return Err(component_failure(
            Failure::Contract(format!(
                "scalar function `{}` has the name of a built-in SQL function",
                f.name
            )),
            instance.usage(),
        ));
    }
    let registered = Registered {
        instance: Arc::new(Mutex::new(instance)),
        failure: Arc::new(Mutex::new(None)),
        names: listed.iter().map(|f| f.name.clone()).collect(),
        digest: functions.module.digest().to_owned(),
    };
    for function in listed {
        let signature = Signature::exact(function.params.clone(), Volatility::Immutable);
        session
            .register_udf(Arc::new(ScalarUDF::new_from_impl(GuestUdf {
                function,
                signature,
                digest: registered.digest.clone(),
                instance: Arc::clone(&registered.instance),
                failure: Arc::clone(&registered.failure),
            })))
            .map_err(|e| internal(cleanroom_guard::scrub::scrub_error(&e)))?;
    }
    Ok(registered)
}

/// One guest function as a DataFusion scalar UDF.
struct GuestUdf {
    function: Function,
    signature: Signature,
    digest: String,
    instance: Arc<Mutex<Instance>>,
    failure: Arc<Mutex<Option<Failure>>>,
}

impl std::fmt::Debug for GuestUdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestUdf")
            .field("name", &self.function.name)
            .field("component", &self.digest)
            .finish()
    }
}

impl PartialEq for GuestUdf {
    fn eq(&self, other: &Self) -> bool {
        self.function == other.function && self.digest == other.digest
    }
}

impl Eq for GuestUdf {}

impl Hash for GuestUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.function.name.hash(state);
        self.digest.hash(state);
    }
}

impl GuestUdf {
    fn fail(&self, failure: Failure) -> DataFusionError {
        DataFusionError::Execution(format!(
            "guest function `{}` failed: {}",
            self.function.name,
            failure.class()
        ))
    }
}

impl ScalarUDFImpl for GuestUdf {
    fn name(&self) -> &str {
        &self.function.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(
        &self,
        _args: &[datafusion::arrow::datatypes::DataType],
    ) -> datafusion::common::Result<datafusion::arrow::datatypes::DataType> {
        Ok(self.function.returns.clone())
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut fields = Vec::with_capacity(args.args.len());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(args.args.len());
        for (i, (arg, ty)) in args.args.into_iter().zip(&self.function.params).enumerate() {
            let array = arg.into_array(rows)?;
            let array = if array.data_type() == ty {
                array
            } else {
                datafusion::arrow::compute::cast(&array, ty)?
            };
            fields.push(Field::new(format!("arg{i}"), ty.clone(), true));
            columns.push(array);
        }
        let batch = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        let result = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let mut instance = self
                        .instance
                        .lock()
                        .map_err(|_| Failure::Host("a guest function's instance is poisoned"))?;
                    // After a failure the instance is not entered again, and the failure that
                    // stopped it stays the one reported.
                    if let Some(first) = self.failure.lock().ok().and_then(|f| f.clone()) {
                        return Err(first);
                    }
                    let result = instance.call_function(&self.function, &batch);
                    if let Err(failure) = &result
                        && let Ok(mut slot) = self.failure.lock()
                    {
                        slot.get_or_insert_with(|| failure.clone());
                    }
                    result
                })
                .join()
                .unwrap_or(Err(Failure::Host("a guest function's thread panicked")))
        });
        result.map(ColumnarValue::Array).map_err(|f| self.fail(f))
    }
}
