//! The verdict's vocabulary — the suggested decision and the reasons behind it — in a leaf
//! module, so the stages that produce reasons (liveness, document) and the result that carries
//! them depend on it and not on each other.

use serde::{Deserialize, Serialize};

/// The suggested decision, ordered by severity (approve < refer < reject), so that combining
/// checks is `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    /// Every check passed with enough confidence.
    Approve,
    /// A person must look: something failed or is uncertain.
    Refer,
    /// The checks say this is not the document holder.
    Reject,
}

/// A reason behind the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// Stable code.
    pub code: String,
    /// Words for the agent.
    pub message: String,
}
