//! Container images: the references rendered objects name ([`ImageRef`]: Docker's
//! normalization, and the rule that relocates an image into an enclave registry).

mod reference;

pub use reference::ImageRef;
