//! The node agent. So far: the pod workers.

pub(crate) mod pods;
