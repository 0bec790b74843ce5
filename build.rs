//! Records the git revision in the binary so `sdwan --version` and the
//! metrics `sdwan_build_info` gauge say exactly what is running.
use std::process::Command;

fn main() {
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SDWAN_GIT_REV={rev}");
    println!("cargo:rerun-if-changed=.git/HEAD");
}
