//! CustomResourceDefinitions: what a CRD adds to a served resource.

/// The part of a served resource that comes from its CRD.
#[derive(Debug)]
pub(crate) struct CustomInfo {
    /// `metadata.name` of the CRD, `<plural>.<group>`.
    pub(crate) crd_name: String,
    /// The version objects are stored at.
    pub(crate) storage_version: String,
}
