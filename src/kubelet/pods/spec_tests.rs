use super::*;
use crate::image::ImageConfig;
use k8s_openapi::api::core::v1::{
    Capabilities, HostPathVolumeSource, PodSecurityContext, PodSpec, SeccompProfile,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn image() -> Image {
    Image {
        references: vec!["docker.io/library/busybox:latest".into()],
        digest: "sha256:abc".into(),
        config: ImageConfig {
            env: vec!["PATH=/bin".into(), "A=image".into()],
            entrypoint: vec!["/entry".into()],
            cmd: vec!["serve".into(), "--port=80".into()],
            working_dir: "/srv".into(),
            user: "1000:1001".into(),
            exposed_ports: vec![],
            stop_signal: "SIGINT".into(),
        },
        layers: vec![PathBuf::from("/l0"), PathBuf::from("/l1")],
        size: 1,
    }
}

fn pod(c: Container) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("u1".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![c],
            volumes: Some(vec![Volume {
                name: "serial".into(),
                host_path: Some(HostPathVolumeSource {
                    path: "/dev/ttyS0".into(),
                    type_: Some("CharDevice".into()),
                }),
                ..Default::default()
            }]),
            security_context: Some(PodSecurityContext {
                fs_group: Some(2000),
                supplemental_groups: Some(vec![3000]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn build_for(c: Container, env: &[String]) -> ContainerSpec {
    let p = pod(c);
    let vols = vec![PreparedVolume {
        name: "serial".into(),
        host_path: PathBuf::from("/dev/ttyS0"),
        read_only_default: false,
    }];
    let sandbox = Sandbox {
        net: Some(PathBuf::from("/run/s/net")),
        ..Default::default()
    };
    build(&SpecInput {
        pod: &p,
        container: &p.spec.as_ref().unwrap().containers[0],
        init: false,
        id: "cid",
        restart_count: 2,
        image: &image(),
        env,
        volumes: &vols,
        sandbox: &sandbox,
        pod_dir: Path::new("/data/pods/u1"),
        cgroup_parent: "sovedge",
    })
}

#[test]
fn command_and_args_combine_with_the_image_as_upstream() {
    let img = image();
    let c = |cmd: Option<Vec<&str>>, args: Option<Vec<&str>>| Container {
        command: cmd.map(|v| v.into_iter().map(String::from).collect()),
        args: args.map(|v| v.into_iter().map(String::from).collect()),
        ..Default::default()
    };
    assert_eq!(
        command_line(&c(None, None), &img, &[]),
        ["/entry", "serve", "--port=80"]
    );
    assert_eq!(
        command_line(&c(None, Some(vec!["x"])), &img, &[]),
        ["/entry", "x"]
    );
    assert_eq!(command_line(&c(Some(vec!["sh"]), None), &img, &[]), ["sh"]);
    let env = vec!["NAME=world".to_string()];
    assert_eq!(
        command_line(
            &c(
                Some(vec!["echo"]),
                Some(vec!["$(NAME)", "$$(NAME)", "$(NOPE)"])
            ),
            &img,
            &env
        ),
        ["echo", "world", "$(NAME)", "$(NOPE)"]
    );
}

#[test]
fn env_overlays_image_env_and_user_comes_from_image_or_context() {
    let s = build_for(
        Container {
            name: "c".into(),
            ..Default::default()
        },
        &["A=pod".into(), "B=1".into()],
    );
    assert_eq!(s.env, ["PATH=/bin", "A=pod", "B=1"]);
    assert_eq!(s.user.uid, Some(1000));
    assert_eq!(s.user.gid, Some(1001));
    assert_eq!(s.user.supplementary, [2000, 3000]);
    assert_eq!(s.cwd, "/srv");
    assert_eq!(s.seccomp, Seccomp::RuntimeDefault);
    assert!(!s.no_new_privs);
    assert_eq!(s.cgroup_path, "sovedge/podu1/cid");
    assert_eq!(s.log_path, PathBuf::from("/data/pods/u1/logs/c/2.log"));
    assert_eq!(s.labels[LABEL_RESTART], "2");
    assert_eq!(s.namespaces.net, Some(PathBuf::from("/run/s/net")));

    let s = build_for(
        Container {
            name: "c".into(),
            working_dir: Some("/w".into()),
            security_context: Some(SecurityContext {
                run_as_user: Some(0),
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(true),
                capabilities: Some(Capabilities {
                    add: Some(vec!["NET_ADMIN".into()]),
                    drop: Some(vec!["ALL".into()]),
                }),
                seccomp_profile: Some(SeccompProfile {
                    type_: "Unconfined".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        &[],
    );
    assert_eq!(s.user.uid, Some(0));
    assert_eq!(s.cwd, "/w");
    assert!(s.no_new_privs);
    assert!(s.read_only_rootfs);
    assert_eq!(s.cap_add, ["CAP_NET_ADMIN"]);
    assert_eq!(s.cap_drop, ["ALL"]);
    assert_eq!(s.seccomp, Seccomp::Unconfined);
}

#[test]
fn mounts_devices_and_pod_files() {
    let s = build_for(
        Container {
            name: "c".into(),
            volume_mounts: Some(vec![VolumeMount {
                name: "serial".into(),
                mount_path: "/dev/ttyUSB0".into(),
                ..Default::default()
            }]),
            ..Default::default()
        },
        &[],
    );
    assert_eq!(
        s.devices,
        [DeviceSpec {
            host_path: "/dev/ttyS0".into(),
            container_path: "/dev/ttyUSB0".into(),
            permissions: "rwm".into()
        }]
    );
    let dests: Vec<_> = s
        .mounts
        .iter()
        .map(|m| m.destination.to_str().unwrap())
        .collect();
    assert_eq!(
        dests,
        [
            "/etc/hosts",
            "/etc/hostname",
            "/etc/resolv.conf",
            "/dev/termination-log"
        ]
    );
    assert!(matches!(
        &s.mounts[0].kind,
        MountKind::Bind { source, .. } if source == Path::new("/data/pods/u1/etc/hosts")
    ));
}

#[test]
fn hostname_is_truncated_to_a_label() {
    let mut p = pod(Container::default());
    p.metadata.name = Some(format!("{}-x", "a".repeat(62)));
    assert_eq!(hostname(&p), "a".repeat(62));
}

#[test]
fn image_stop_signal_reaches_the_runtime() {
    let s = build_for(Container::default(), &[]);
    assert_eq!(s.stop_signal, Some(2));
    assert_eq!(super::stop_signal("TERM"), Some(15));
    assert_eq!(super::stop_signal("9"), Some(9));
    assert_eq!(super::stop_signal(""), None);
    assert_eq!(super::stop_signal("SIGNOPE"), None);
}
