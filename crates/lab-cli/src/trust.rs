//! `lab-cli trust` and `lab-cli pco-bench`. To be written.

#[derive(clap::Args, Debug)]
pub struct TrustArgs {}

#[derive(clap::Args, Debug)]
pub struct PcoBenchArgs {}

pub fn run_trust(_args: &TrustArgs) -> std::process::ExitCode {
    crate::invalid("the trust experiment is not built yet")
}

pub fn run_pco_bench(_args: &PcoBenchArgs) -> std::process::ExitCode {
    crate::invalid("the PCO benchmark is not built yet")
}
