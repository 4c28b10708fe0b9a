pub(crate) mod volumes;
