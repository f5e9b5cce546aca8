//! The policy model of cleanroom: what data exists, who may use it for what, and how much an
//! output may reveal.
//!
//! # What this crate owns
//!
//! - **Catalog** ([`Dataset`], [`Column`]): every art. 12 field of a public data resource, its
//!   grade ([`Grade`], GB/T 43697), its privacy unit and its columns.
//! - **Column uses** ([`ColumnClass`], [`Use`], [`Uses`]): SCQL-style column control, default
//!   deny; a class is a preset of uses, explicit uses override it.
//! - **Licences** ([`Licence`], art. 43-48): operator, mode, datasets, scenarios, validity, job
//!   kinds and limits, and the checks done on a licence before anything else
//!   ([`Policies::check_licence`]).
//! - **Disclosure rules** ([`DisclosureRules`], [`Disclosure`]): global and per-grade
//!   parameters, combined by [`Policies::effective_rules`] so that the most restrictive value
//!   wins (就高从严).
//! - **Decisions** ([`decision`]): the shared vocabulary of rule ids and violations that the
//!   guard reports in.
//! - **Loading and validation** ([`Policies::load`]): reading `policies/` and reporting every
//!   problem with file, line and field ([`Diagnostic`]).
//! - **Direct identifiers** ([`ident`], art. 16): citizen ID and USCC check characters and the
//!   shapes the DLP scan looks for.
//!
//! # What it must not own
//!
//! No DataFusion, no query planning or execution, no networking, and no I/O beyond reading the
//! policy directory: the guard and the engine depend on this crate, never the other way round.

pub mod decision;
// `ident.rs` is shared with the demo generator and owned elsewhere; its one clippy finding
// (`sum % 10 == 0` in the Luhn check) is allowed here rather than edited in place.
#[allow(clippy::manual_is_multiple_of)]
pub mod ident;
mod load;
mod model;
mod policies;

pub use model::*;
pub use policies::Policies;

use std::path::PathBuf;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A policy file or directory could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The policies are invalid; every problem found, one per line.
    #[error("{}", display_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem in a policy file: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The path of the file as given to [`Policies::load`] joined with its relative path.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// The field concerned, if one can be named.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

fn display_diagnostics(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
