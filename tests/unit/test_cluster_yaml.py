"""``cluster.yaml`` (an on-premise farm for Ray's cluster launcher) is what Ray accepts.

The config goes through the steps ``ray up`` takes before it touches any machine: Ray's
own preparation of a ``local``-provider config (its single node type, min/max workers from
the listed IPs, the defaults merged in), its JSON-schema validation, and the local
provider's bootstrap. The labels file each node reads (``ray start --labels-file``) is
written as the config's comments document it and parsed by Ray's own parser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

CLUSTER_YAML = ROOT / "cluster.yaml"
LABELS_FILE = "/etc/o2ctl/node-labels.yaml"


def test_ray_prepares_and_validates_cluster_yaml() -> None:
    pytest.importorskip("jsonschema")
    from ray.autoscaler._private.providers import _NODE_PROVIDERS
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = yaml.safe_load(CLUSTER_YAML.read_text())
    config = prepare_config(raw)
    validate_config(config)
    provider = _NODE_PROVIDERS[config["provider"]["type"]](config["provider"])
    booted = provider.bootstrap_config(config)
    node_type = booted["available_node_types"][booted["head_node_type"]]
    workers = len(raw["provider"]["worker_ips"])
    assert node_type["min_workers"] == node_type["max_workers"] == workers
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = [c for c in booted[key] if "ray start" in c]
        assert len(start) == 1 and f"--labels-file={LABELS_FILE}" in start[0], key
        assert "RAY_AUTH_MODE=token" in start[0], key
    head = booted["head_start_ray_commands"][-1]
    assert "--head" in head
    # the head comes back: under systemd, restarted whenever any of its processes ends,
    # with GCS fault tolerance and the records in the Redis every node reaches
    for needed in ("--block", "Restart=always", "EnvironmentFile=/etc/o2ctl/ha.env"):
        assert needed in head, needed
    env_file = next(c for c in booted["setup_commands"] if "ha.env" in c)
    for needed in ("RAY_REDIS_ADDRESS=", "RAY_external_storage_namespace=", "redis://"):
        assert needed in env_file, needed
    assert ". /etc/o2ctl/ha.env" in booted["worker_start_ray_commands"][-1]
    assert "$RAY_HEAD_IP:6379" in booted["worker_start_ray_commands"][-1]


def test_the_documented_labels_file_is_what_ray_reads(tmp_path: Path) -> None:
    from ray._private.label_utils import parse_node_labels_from_yaml_file

    text = CLUSTER_YAML.read_text()
    example = re.search(r"On an EPN, for example:\n#\n((?:#     .*\n)+)", text)
    assert example, "cluster.yaml documents a labels file"
    body = "".join(line[len("#     ") :] + "\n" for line in example.group(1).splitlines())
    labels_file = tmp_path / "node-labels.yaml"
    labels_file.write_text(body)
    labels = parse_node_labels_from_yaml_file(str(labels_file))
    assert labels == {"machine_id": "epn001", "machine_type": "epn", "node_class": "async"}
