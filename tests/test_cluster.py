"""cluster.yaml passes Ray's own validation (what `ray up` runs: defaults merged, then the
schema), and its node types keep the roles the stages rely on."""

import copy

import pytest
import yaml

from tests.support.paths import REPO

CLUSTER = REPO / "cluster.yaml"


def load():
    return yaml.safe_load(CLUSTER.read_text())


def test_cluster_yaml_passes_rays_validation():
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(load())))


def test_a_typo_is_caught_by_the_same_validation():
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    bad = load()
    bad["available_node_types"]["cpu_sandbox"]["min_worker"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(bad))


def test_node_roles():
    types = load()["available_node_types"]
    assert types["head"]["resources"]["CPU"] == 0  # nothing scheduled on the head
    sandbox = [name for name, t in types.items() if "sandbox" in t["resources"]]
    assert sandbox == ["cpu_sandbox"] and "GPU" not in types["cpu_sandbox"]["resources"]
    assert {types[t]["resources"]["GPU"] for t in ("gpu_a100x8", "gpu_h100x8")} == {8}
    data_cfg = yaml.safe_load((REPO / "configs" / "data" / "viscode.yaml").read_text())
    assert data_cfg["exec_resources"] == {"sandbox": 1}
