pub(crate) mod streams;
