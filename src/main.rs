//! sovedge: one binary that turns a small box into a Kubernetes-compatible
//! edge cloud.

mod admission;
mod api;
#[allow(dead_code)] // Users arrive with CRD validation rules and admission policies.
mod cel;
mod cli;
#[allow(dead_code)] // The kubelet and the server call the rest.
mod image;
#[allow(dead_code)] // The pod workers call into it as they arrive.
mod kubelet;
#[allow(dead_code)] // Users arrive with the kubelet.
mod net;
mod pki;
mod registry;
#[allow(dead_code)] // The kubelet drives the runtime.
mod runtime;
#[allow(dead_code)] // Users arrive with apply, CRDs and the OpenAPI documents.
mod schema;
mod store;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
