//! Column lineage as the OpenLineage column-lineage facet (1-2-0), computed by the guard's walk.
//!
//! Per output field: DIRECT inputs (IDENTITY, TRANSFORMATION, AGGREGATION; `masking` when the
//! value was generalised, hashed or aggregated) and INDIRECT CONDITIONAL inputs (CASE conditions).
//! Dataset-wide INDIRECT inputs (FILTER, JOIN, GROUP_BY, SORT, WINDOW) go under `dataset`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analyze::{Src, Val, Xf};

/// The namespace of the sandbox's datasets in lineage events.
pub const NAMESPACE: &str = "cleanroom";
/// The producer of every lineage event and facet the sandbox writes.
pub const PRODUCER: &str = concat!(
    "https://cleanroom.invalid/cleanroom/",
    env!("CARGO_PKG_VERSION")
);
const SCHEMA_URL: &str = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet";

/// Dataset-wide indirect influences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Indirect {
    Filter,
    Join,
    GroupBy,
    Sort,
    Window,
}

impl Indirect {
    fn subtype(self) -> &'static str {
        match self {
            Indirect::Filter => "FILTER",
            Indirect::Join => "JOIN",
            Indirect::GroupBy => "GROUP_BY",
            Indirect::Sort => "SORT",
            Indirect::Window => "WINDOW",
        }
    }
}

/// The facet, ready to serialise under `facets.columnLineage` of an output dataset.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ColumnLineage {
    #[serde(rename = "_producer")]
    pub producer: String,
    #[serde(rename = "_schemaURL")]
    pub schema_url: String,
    pub fields: BTreeMap<String, FieldLineage>,
    pub dataset: Vec<InputField>,
    #[serde(skip)]
    dataset_set: BTreeSet<(Src, Indirect)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FieldLineage {
    #[serde(rename = "inputFields")]
    pub input_fields: Vec<InputField>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputField {
    pub namespace: String,
    pub name: String,
    pub field: String,
    pub transformations: Vec<Transformation>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transformation {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub subtype: &'static str,
    pub description: String,
    pub masking: bool,
}

fn input(src: &Src, t: Transformation) -> InputField {
    InputField {
        namespace: NAMESPACE.into(),
        name: src.dataset.to_string(),
        field: src.column.to_string(),
        transformations: vec![t],
    }
}

impl ColumnLineage {
    pub(crate) fn add_field(&mut self, name: &str, v: &Val) {
        let mut f = FieldLineage::default();
        for (s, x) in &v.direct {
            let (subtype, masking, description) = match x {
                Xf::Identity => ("IDENTITY", false, "the value itself"),
                Xf::Generalised => (
                    "TRANSFORMATION",
                    true,
                    "generalised (year, month, prefix or bucket)",
                ),
                Xf::Transformed if v.hashed.is_some() => {
                    ("TRANSFORMATION", true, "hashed or encoded")
                }
                Xf::Transformed => ("TRANSFORMATION", false, "computed from the value"),
                Xf::Aggregated => ("AGGREGATION", true, "aggregated over a group"),
            };
            f.input_fields.push(input(
                s,
                Transformation {
                    kind: "DIRECT",
                    subtype,
                    description: description.into(),
                    masking,
                },
            ));
        }
        for s in &v.indirect {
            f.input_fields.push(input(
                s,
                Transformation {
                    kind: "INDIRECT",
                    subtype: "CONDITIONAL",
                    description: "decides the value through a condition".into(),
                    masking: false,
                },
            ));
        }
        self.fields.insert(name.to_string(), f);
    }

    pub(crate) fn add_dataset(&mut self, src: &Src, kind: Indirect) {
        if self.dataset_set.insert((src.clone(), kind)) {
            self.dataset.push(input(
                src,
                Transformation {
                    kind: "INDIRECT",
                    subtype: kind.subtype(),
                    description: String::new(),
                    masking: false,
                },
            ));
        }
    }

    /// Fills the producer fields; called once the walk is done.
    pub(crate) fn finish(&mut self) {
        self.producer = PRODUCER.into();
        self.schema_url = SCHEMA_URL.into();
        self.dataset.sort_by(|a, b| {
            (&a.name, &a.field, a.transformations[0].subtype).cmp(&(
                &b.name,
                &b.field,
                b.transformations[0].subtype,
            ))
        });
    }
}
