"""The jail holds under every execution runtime, not only the one the shared fixtures use.

tests/sandbox/test_hostile.py runs the hostile suite with the shared ``sandbox`` fixture, whose
runtime is ``default``; this file runs the same hostile table under every other built runtime
(its interpreter, site-packages and read-only bind mounts differ), and checks under every
runtime that the project's own environment and checkout stay out of the script's reach.
"""

import pytest

from tests.sandbox.test_hostile import (  # noqa: F401  (subreaper is a fixture)
    HOSTILE,
    assert_contained,
    subreaper,
)
from viscoder.sandbox import ExecStatus, Sandbox, SandboxConfig
from viscoder.sandbox.runtimes import REPO_ROOT, available_runtimes, declared_runtimes

OTHER_RUNTIMES = [name for name in declared_runtimes() if name != "default"]


def test_shared_fixture_covers_the_default_runtime(sandbox):
    assert sandbox.config.runtime == "default"


@pytest.fixture(scope="module", params=OTHER_RUNTIMES)
def jailed_runtime(request):
    with Sandbox(SandboxConfig(runtime=request.param, timeout_s=5, interrupt_grace_s=1)) as sb:
        if not sb.isolation.get("namespaces"):
            pytest.skip(f"no namespaces on this machine: {sb.isolation.get('problems')}")
        yield sb


@pytest.mark.usefixtures("subreaper")
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_script_is_contained_under_runtime(jailed_runtime, name):
    assert_contained(jailed_runtime, name)


@pytest.mark.parametrize("runtime", ["default", *OTHER_RUNTIMES])
def test_project_environment_is_out_of_reach(runtime):
    assert runtime in available_runtimes()
    with Sandbox(SandboxConfig(runtime=runtime, timeout_s=10, interrupt_grace_s=1)) as sb:
        if not sb.isolation.get("namespaces"):
            pytest.skip(f"no namespaces on this machine: {sb.isolation.get('problems')}")
        # pydantic is in the project's .venv, never in a runtime: importing it must fail
        res = sb.run("import pydantic")
        assert res.status is ExecStatus.ERROR and res.error_type == "ModuleNotFoundError"
        # the checkout (configs, the .venv, other runtimes) is not mounted in the jail
        res = sb.run(f"print(open({str(REPO_ROOT / 'pyproject.toml')!r}).read())")
        assert res.status is ExecStatus.ERROR and "[project]" not in res.stdout
        res = sb.run(f"import os\nprint(os.listdir({str(REPO_ROOT / '.venv')!r}))")
        assert res.status is ExecStatus.ERROR
        # its own runtime is there, read-only
        res = sb.run("import sys, os\nopen(os.path.join(sys.prefix, 'planted'), 'w')")
        assert res.status is ExecStatus.ERROR and res.error_type in ("OSError", "PermissionError")
