//! Authorization by Cedar policies (DESIGN.md §6b): `policies/authz/schema.cedarschema` and
//! `policies/authz/*.cedar`, strictly validated when loaded. Each request is decided with
//! entities built from the licences, the store and the caller, and with the server's clock.
//! Every policy carries an `@id` annotation; a `forbid` that decides a denial is named by it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::str::FromStr as _;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use cleanroom_policy::Licence;

use crate::{Error, Principal, Result};

/// The policies and their schema.
pub struct Authz {
    schema: Schema,
    policies: PolicySet,
    authorizer: Authorizer,
}

impl std::fmt::Debug for Authz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authz")
            .field("policies", &self.policies.policies().count())
            .finish()
    }
}

/// What a request is about.
#[derive(Clone, Debug)]
pub enum Resource<'a> {
    Licence(&'a Licence),
    Job {
        id: i64,
        operator: &'a str,
        licence: &'a Licence,
        in_review: bool,
        released: bool,
    },
    Product {
        id: i64,
        operator: &'a str,
        requested_by: &'a str,
        licence: &'a Licence,
    },
    Dataset(&'a str),
    Platform,
}

/// A request the policies did not permit, with the `@id`s of the `forbid` rules that decided
/// it (empty when no `permit` applied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    pub forbidden_by: Vec<String>,
}

fn invalid(file: &Path, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{}: {what}", file.display()))
}

fn uid(kind: &str, id: &str) -> Result<EntityUid> {
    // An id is quoted as a Cedar string literal; escape_debug covers quotes and backslashes.
    EntityUid::from_str(&format!("Cleanroom::{kind}::\"{}\"", id.escape_debug()))
        .map_err(|e| Error::Internal(format!("entity {kind}: {e}")))
}

fn datetime(t: DateTime<Utc>) -> RestrictedExpression {
    RestrictedExpression::new_datetime(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

fn midnight(d: NaiveDate) -> RestrictedExpression {
    datetime(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn entity(uid: EntityUid, attrs: Vec<(&str, RestrictedExpression)>) -> Result<Entity> {
    let attrs: HashMap<String, RestrictedExpression> =
        attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Entity::new(uid, attrs, HashSet::new()).map_err(|e| Error::Internal(format!("entity: {e}")))
}

fn licence_entity(l: &Licence) -> Result<(EntityUid, Entity)> {
    let id = uid("Licence", &l.id)?;
    let until = l.valid_until + Duration::days(1);
    let e = entity(
        id.clone(),
        vec![
            ("operator", string(&l.operator)),
            ("interactive", RestrictedExpression::new_bool(l.interactive)),
            ("valid_from", midnight(l.valid_from)),
            ("valid_until", midnight(until)),
        ],
    )?;
    Ok((id, e))
}

impl Authz {
    /// Loads `dir/schema.cedarschema` and every `dir/*.cedar`, validating the policies
    /// strictly against the schema. Every policy must have a unique `@id`.
    pub fn load(dir: &Path) -> Result<Authz> {
        let schema_path = dir.join("schema.cedarschema");
        let text = std::fs::read_to_string(&schema_path)
            .map_err(|e| invalid(&schema_path, format!("cannot read: {}", e.kind())))?;
        let (schema, warnings) =
            Schema::from_cedarschema_str(&text).map_err(|e| invalid(&schema_path, e))?;
        if let Some(w) = warnings.into_iter().next() {
            return Err(invalid(&schema_path, w));
        }
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| invalid(dir, format!("cannot read: {}", e.kind())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(invalid(dir, "no .cedar policy files"));
        }
        let mut all = String::new();
        let mut ids = BTreeSet::new();
        let validator = Validator::new(schema.clone());
        for file in &files {
            let text = std::fs::read_to_string(file)
                .map_err(|e| invalid(file, format!("cannot read: {}", e.kind())))?;
            let set = PolicySet::from_str(&text).map_err(|e| invalid(file, e))?;
            let result = validator.validate(&set, ValidationMode::Strict);
            if let Some(e) = result.validation_errors().next() {
                return Err(invalid(file, e));
            }
            for policy in set.policies() {
                let Some(id) = policy.annotation("id") else {
                    return Err(invalid(file, "a policy has no @id(\"...\") annotation"));
                };
                if !ids.insert(id.to_owned()) {
                    return Err(invalid(file, format!("@id(\"{id}\") is used twice")));
                }
            }
            all.push_str(&text);
            all.push('\n');
        }
        let policies = PolicySet::from_str(&all).map_err(|e| invalid(dir, e))?;
        Ok(Authz {
            schema,
            policies,
            authorizer: Authorizer::new(),
        })
    }

    /// The `@id`s of the loaded policies.
    pub fn policy_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .policies
            .policies()
            .filter_map(|p| p.annotation("id").map(str::to_owned))
            .collect();
        ids.sort();
        ids
    }

    /// Decides whether `who` may do `action` on `resource` at `now`.
    pub fn decide(
        &self,
        who: &Principal,
        action: &str,
        resource: &Resource<'_>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(), Denied>> {
        let principal = uid("User", &who.id)?;
        let mut entities = vec![entity(
            principal.clone(),
            vec![
                ("name", string(&who.id)),
                ("role", string(who.role.as_str())),
            ],
        )?];
        let resource_uid = match resource {
            Resource::Licence(l) => {
                let (id, e) = licence_entity(l)?;
                entities.push(e);
                id
            }
            Resource::Job {
                id,
                operator,
                licence,
                in_review,
                released,
            } => {
                let (lid, le) = licence_entity(licence)?;
                entities.push(le);
                let uid = uid("Job", &id.to_string())?;
                entities.push(entity(
                    uid.clone(),
                    vec![
                        ("operator", string(operator)),
                        ("licence", RestrictedExpression::new_entity_uid(lid)),
                        (
                            "interactive",
                            RestrictedExpression::new_bool(licence.interactive),
                        ),
                        ("in_review", RestrictedExpression::new_bool(*in_review)),
                        ("released", RestrictedExpression::new_bool(*released)),
                    ],
                )?);
                uid
            }
            Resource::Product {
                id,
                operator,
                requested_by,
                licence,
            } => {
                let (lid, le) = licence_entity(licence)?;
                entities.push(le);
                let uid = uid("Product", &id.to_string())?;
                entities.push(entity(
                    uid.clone(),
                    vec![
                        ("operator", string(operator)),
                        ("requested_by", string(requested_by)),
                        ("licence", RestrictedExpression::new_entity_uid(lid)),
                    ],
                )?);
                uid
            }
            Resource::Dataset(name) => {
                let uid = uid("Dataset", name)?;
                entities.push(entity(uid.clone(), vec![])?);
                uid
            }
            Resource::Platform => {
                let uid = uid("Platform", "cleanroom")?;
                entities.push(entity(uid.clone(), vec![])?);
                uid
            }
        };
        let entities = Entities::from_entities(entities, Some(&self.schema))
            .map_err(|e| Error::Internal(format!("entities: {e}")))?;
        let context = Context::from_pairs([("now".to_owned(), datetime(now))])
            .map_err(|e| Error::Internal(format!("context: {e}")))?;
        let action = uid("Action", action)?;
        let request = Request::new(principal, action, resource_uid, context, Some(&self.schema))
            .map_err(|e| Error::Internal(format!("request: {e}")))?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        // A policy that errors is ignored by Cedar; strict validation at load should make this
        // impossible, so an error denies.
        if response.diagnostics().errors().next().is_some() {
            return Ok(Err(Denied {
                forbidden_by: vec!["authz.error".into()],
            }));
        }
        match response.decision() {
            Decision::Allow => Ok(Ok(())),
            Decision::Deny => {
                let mut forbidden_by: Vec<String> = response
                    .diagnostics()
                    .reason()
                    .filter_map(|id| self.policies.annotation(id, "id").map(str::to_owned))
                    .collect();
                forbidden_by.sort();
                Ok(Err(Denied { forbidden_by }))
            }
        }
    }
}
