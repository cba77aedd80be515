//! Container images: the references rendered objects name ([`ImageRef`]: Docker's
//! normalization, and the rule that relocates an image into an enclave registry), and
//! their transport into an enclave: a tag resolved to its digest ([`resolve`]), images
//! pulled into an OCI image layout ([`pull`]) and the layout pushed into the enclave's
//! registry ([`push`]), through the registries' credentials and CAs ([`RegistryAccess`]).

mod access;
mod layout;
mod manifest;
mod platform;
mod pull;
mod push;
mod reference;

pub use access::{AccessOptions, RegistryAccess};
pub use layout::{CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION};
pub use platform::Platform;
pub use pull::{PullReport, PullRequest, PulledImage, pull, resolve};
pub use push::{PushReport, PushedImage, push};
pub use reference::ImageRef;
