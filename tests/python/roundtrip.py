"""Create, list and watch round trip with the official Python client."""
import sys
import threading

from kubernetes import client, config, watch

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
ns = "py-roundtrip"

v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
# The namespace's own kube-root-ca.crt is left out by the selector.
listed = v1.list_namespaced_config_map(ns, label_selector="app=py")
start_rv = listed.metadata.resource_version
assert listed.items == [], listed.items

seen = []
def watcher():
    w = watch.Watch()
    for event in w.stream(v1.list_namespaced_config_map, ns, label_selector="app=py", resource_version=start_rv, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name, event["object"].data))
        if len(seen) == 3:
            w.stop()

t = threading.Thread(target=watcher)
t.start()

body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"app": "py"}), data={"k": "v"})
created = v1.create_namespaced_config_map(ns, body)
assert created.metadata.uid, created
created.data["k"] = "v2"
v1.replace_namespaced_config_map("settings", ns, created)
v1.delete_namespaced_config_map("settings", ns)
t.join(15)

assert [s[0] for s in seen] == ["ADDED", "MODIFIED", "DELETED"], seen
assert seen[1][2] == {"k": "v2"}, seen

try:
    v1.read_namespaced_config_map("settings", ns)
    raise AssertionError("deleted configmap still readable")
except client.exceptions.ApiException as e:
    assert e.status == 404, e.status

labelled = v1.list_config_map_for_all_namespaces(label_selector="app=py")
assert labelled.items == [], labelled.items
print("python client round trip ok")
