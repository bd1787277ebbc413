"""Where npp runs decides its defaults (npp.hosting): a Hugging Face Space is public and may
download; elsewhere neither, unless the host says so. Each case sets the environment as the
Hub (SPACE_ID, SYSTEM=spaces, SPACES_ZERO_GPU) or a host would."""
from __future__ import annotations

import pytest

from npp import hosting
from npp.errors import NppError

VARS = ("SPACE_ID", "SYSTEM", "SPACES_ZERO_GPU", hosting.PUBLIC_ENV, hosting.ALLOW_DOWNLOAD_ENV)


@pytest.fixture
def env(monkeypatch):
    for var in VARS:
        monkeypatch.delenv(var, raising=False)

    def set_(**values):
        for k, v in values.items():
            monkeypatch.setenv(k, v)

    return set_


# (environment, public_mode, download_allowed)
CASES = [
    ({}, False, False),                                                # a laptop, a lab server, CI
    ({"NPP_PUBLIC": "1"}, True, False),                                # a public server that is not a Space
    ({"NPP_ALLOW_DOWNLOAD": "yes"}, False, True),
    ({"SPACE_ID": "someone/npp"}, True, True),                         # a Space: public, downloads on
    ({"SYSTEM": "spaces"}, True, True),
    ({"SPACE_ID": "someone/npp", "NPP_PUBLIC": "0"}, False, True),     # the host opts in to training
    ({"SPACE_ID": "someone/npp", "NPP_PUBLIC": "off", "NPP_ALLOW_DOWNLOAD": "0"}, False, False),
    ({"SPACE_ID": "someone/npp", "NPP_PUBLIC": "", "NPP_ALLOW_DOWNLOAD": " "}, True, True),  # empty = unset
    ({"SYSTEM": "linux"}, False, False),
]


@pytest.mark.parametrize("values, public, downloads", CASES)
def test_defaults_follow_the_host(env, values, public, downloads):
    env(**values)
    assert hosting.public_mode() is public
    assert hosting.download_allowed() is downloads
    assert hosting.on_space() is ("SPACE_ID" in values or values.get("SYSTEM") == "spaces")


def test_a_typo_is_refused_not_guessed(env):
    env(SPACE_ID="someone/npp", NPP_PUBLIC="ture")
    with pytest.raises(NppError, match=r"NPP_PUBLIC='ture': use 1 or 0"):
        hosting.public_mode()


def test_reasons_name_the_variable_that_changes_them(env):
    assert "NPP_PUBLIC=1 switches training off" in hosting.public_reason()
    env(SPACE_ID="someone/npp")
    assert "Hugging Face Space" in hosting.public_reason() and "NPP_PUBLIC=0" in hosting.public_reason()
    env(NPP_PUBLIC="true")
    assert hosting.public_reason() == "NPP_PUBLIC=1"


def test_summary_line(env):
    assert hosting.summary() == ("Running on a local server: training on; "
                                 "torchvision models only from the local cache.")
    env(SPACE_ID="someone/npp", SPACES_ZERO_GPU="true")
    assert hosting.zero_gpu()
    assert hosting.summary() == ("Running on Hugging Face Space someone/npp on ZeroGPU: training off (public mode); "
                                 "the paper's torchvision models download on first use.")


def test_training_jobs_follow_public_mode(env, tmp_path):
    """The job runner refuses training on a Space unless the host opted in."""
    from npp.jobs import JobRunner, new_token

    runner, token = JobRunner(tmp_path / "jobs"), new_token()
    env(SPACE_ID="someone/npp")
    with pytest.raises(NppError, match="switched off .*Hugging Face Space.*NPP_PUBLIC=0"):
        runner.submit("train", [], runner.new_job_dir(), token=token)
    env(NPP_PUBLIC="0")
    with pytest.raises(NppError, match="unknown job kind"):  # past the public-mode gate
        runner.submit("nonsense", [], runner.new_job_dir(), token=token)


def test_info_reports_the_host(env):
    from npp.commands.info import app_info

    env(SPACE_ID="someone/npp")
    info = app_info()
    assert info["space"] == "someone/npp" and info["public"] and not info["training"] and info["downloads"]
