//! The RuntimeDefault seccomp profile as a pure-Rust BPF filter, installed
//! by our libcontainer executor right before the workload's execve.
//!
//! Like upstream's default profile it refuses (EPERM) the syscalls that
//! reach across the container boundary, unless the container holds the
//! capability that makes the call legitimate; clone3 answers ENOSYS so that
//! libc falls back to clone, whose namespace flags are then checked.

use std::collections::{BTreeMap, HashMap};

use libcontainer::oci_spec::runtime::Spec;
use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{
    Executor, ExecutorError, ExecutorSetEnvsError, ExecutorValidationError,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Spec annotation that selects the profile ("runtime-default").
pub(crate) const ANNOTATION: &str = "io.sovedge.seccomp";
pub(crate) const RUNTIME_DEFAULT: &str = "runtime-default";

/// Syscalls refused unless the container holds the named capability
/// (None: always refused).
fn denied() -> Vec<(Option<&'static str>, Vec<i64>)> {
    use libc::*;
    let admin = vec![
        SYS_mount,
        SYS_umount2,
        SYS_unshare,
        SYS_setns,
        SYS_pivot_root,
        SYS_fsopen,
        SYS_fsmount,
        SYS_fsconfig,
        SYS_fspick,
        SYS_move_mount,
        SYS_open_tree,
        SYS_quotactl,
        SYS_name_to_handle_at,
        SYS_lookup_dcookie,
        SYS_bpf,
        SYS_perf_event_open,
        SYS_fanotify_init,
    ];
    let mut always = vec![
        SYS_add_key,
        SYS_request_key,
        SYS_keyctl,
        SYS_kexec_load,
        SYS_userfaultfd,
        SYS_open_by_handle_at,
        SYS_swapon,
        SYS_swapoff,
    ];
    let module = vec![SYS_init_module, SYS_finit_module, SYS_delete_module];
    let time = vec![SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime];
    #[cfg(target_arch = "x86_64")]
    let rawio = vec![SYS_iopl, SYS_ioperm];
    #[cfg(not(target_arch = "x86_64"))]
    let rawio = vec![];
    // kexec_file_load: the libc crate's aarch64 musl table lacks it, so
    // the generic syscall number (294) stands there.
    #[cfg(target_arch = "aarch64")]
    always.push(294);
    #[cfg(target_arch = "x86_64")]
    {
        always.extend([
            SYS_kexec_file_load,
            SYS_uselib,
            SYS_ustat,
            SYS_sysfs,
            SYS__sysctl,
            SYS_nfsservctl,
        ]);
    }
    vec![
        (None, always),
        (Some("CAP_SYS_ADMIN"), admin),
        (Some("CAP_SYS_MODULE"), module),
        (Some("CAP_SYS_TIME"), time),
        (Some("CAP_SYS_RAWIO"), rawio),
        (Some("CAP_SYS_BOOT"), vec![SYS_reboot]),
        (Some("CAP_SYS_PACCT"), vec![SYS_acct]),
        (Some("CAP_SYSLOG"), vec![SYS_syslog]),
        (
            Some("CAP_SYS_PTRACE"),
            vec![
                SYS_ptrace,
                SYS_process_vm_readv,
                SYS_process_vm_writev,
                SYS_kcmp,
            ],
        ),
        (
            Some("CAP_SYS_NICE"),
            vec![
                SYS_mbind,
                SYS_set_mempolicy,
                SYS_get_mempolicy,
                SYS_move_pages,
            ],
        ),
    ]
}

const NAMESPACE_FLAGS: [u64; 7] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWCGROUP as u64,
];

fn arch() -> TargetArch {
    #[cfg(target_arch = "aarch64")]
    {
        TargetArch::aarch64
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        TargetArch::x86_64
    }
}

/// The filters for a container holding `caps` (e.g. "CAP_SYS_ADMIN").
/// The first refuses with EPERM, the second answers clone3 with ENOSYS.
pub(crate) fn runtime_default(caps: &[String]) -> Result<Vec<BpfProgram>, seccompiler::Error> {
    let held = |c: &str| caps.iter().any(|h| h == c);
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (cap, calls) in denied() {
        if cap.is_some_and(held) {
            continue;
        }
        for nr in calls {
            rules.insert(nr, vec![]);
        }
    }
    if !held("CAP_SYS_ADMIN") {
        // clone's flags are argument 0 on x86_64 and aarch64 alike.
        let mut clone_rules = Vec::new();
        for flag in NAMESPACE_FLAGS {
            let cond = SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )?;
            clone_rules.push(SeccompRule::new(vec![cond])?);
        }
        rules.insert(libc::SYS_clone, clone_rules);
    }
    let deny = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch(),
    )?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, vec![])]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch(),
    )?;
    Ok(vec![deny.try_into()?, clone3.try_into()?])
}

/// Runs the workload like libcontainer's default executor, after restoring
/// default signal handling and installing the seccomp profile.
#[derive(Clone)]
pub(crate) struct SeccompExecutor;

impl Executor for SeccompExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        reset_signals();
        let wanted = spec
            .annotations()
            .as_ref()
            .and_then(|a| a.get(ANNOTATION))
            .is_some_and(|v| v == RUNTIME_DEFAULT);
        if wanted {
            let caps: Vec<String> = spec
                .process()
                .as_ref()
                .and_then(|p| p.capabilities().as_ref())
                .and_then(|c| c.effective().as_ref())
                .map(|set| set.iter().map(|c| c.to_string()).collect())
                .unwrap_or_default();
            let caps: Vec<String> = caps.into_iter().map(cap_name).collect();
            let filters = runtime_default(&caps)
                .map_err(|e| ExecutorError::Other(format!("seccomp profile: {e}")))?;
            if !caps.iter().any(|c| c == "CAP_SYS_ADMIN") {
                // Without CAP_SYS_ADMIN the kernel only accepts a filter
                // from a task that cannot gain privileges.
                // SAFETY: prctl with constant integer arguments.
                let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
                if rc != 0 {
                    return Err(ExecutorError::Other(format!(
                        "no_new_privs: {}",
                        std::io::Error::last_os_error()
                    )));
                }
            }
            for f in &filters {
                seccompiler::apply_filter(f)
                    .map_err(|e| ExecutorError::Other(format!("seccomp filter: {e}")))?;
            }
        }
        DefaultExecutor {}.exec(spec)
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        DefaultExecutor {}.validate(spec)
    }

    fn setup_envs(&self, envs: HashMap<String, String>) -> Result<(), ExecutorSetEnvsError> {
        DefaultExecutor {}.setup_envs(envs)
    }
}

/// oci-spec prints capabilities either as "CAP_X" or "X"; use "CAP_X".
fn cap_name(c: String) -> String {
    let up = c.to_ascii_uppercase();
    if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// Our shim ignores SIGPIPE and blocks SIGCHLD; ignored and blocked
/// signals survive execve, so undo both for the workload.
fn reset_signals() {
    // SAFETY: restores default dispositions and an empty mask in the
    // single-threaded container init right before execve.
    unsafe {
        for sig in [libc::SIGPIPE, libc::SIGCHLD, libc::SIGTERM, libc::SIGINT] {
            libc::signal(sig, libc::SIG_DFL);
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn profile_compiles_and_capabilities_lift_rules() {
        let plain = runtime_default(&[]).unwrap();
        let admin = runtime_default(&["CAP_SYS_ADMIN".into()]).unwrap();
        assert_eq!(plain.len(), 2);
        // Dropping the mount/unshare/clone rules makes the program shorter.
        assert!(admin[0].len() < plain[0].len());
    }

    #[test]
    fn capability_names_are_normalized() {
        assert_eq!(cap_name("sys_admin".into()), "CAP_SYS_ADMIN");
        assert_eq!(cap_name("CAP_KILL".into()), "CAP_KILL");
    }
}
