"""Configuration errors are one clear line naming the variable (SPEC §2)."""

import subprocess
import sys
from pathlib import Path

import pytest

from service.config import ConfigError, load

REPO = Path(__file__).resolve().parent.parent

SID = "AC" + "a" * 32
GOOD = {"TEND_SECRET_KEY": "x" * 20}


def problem(env):
    with pytest.raises(ConfigError) as caught:
        load(GOOD | env)
    return caught.value


def test_defaults_are_the_embedded_ones(tmp_path):
    config = load({}, var_dir=tmp_path)
    assert config.database_url == f"sqlite:///{tmp_path.resolve()}/tend.db"
    assert config.redis_url is None and not config.uses_twilio
    assert (config.public_url, config.clock_interval, config.port, config.sms_mps) == (
        "http://127.0.0.1:8000",
        15.0,
        8000,
        1.0,
    )


def test_the_public_url_follows_the_port_it_listens_on_unless_given(tmp_path):
    assert load({"TEND_PORT": "18231"}, var_dir=tmp_path).public_url == "http://127.0.0.1:18231"
    assert load({"TEND_PORT": "18231"}, var_dir=tmp_path, port=9001).public_url == "http://127.0.0.1:9001"
    assert load({}, var_dir=tmp_path, host="0.0.0.0", port=9002).public_url == "http://127.0.0.1:9002"
    assert load({}, var_dir=tmp_path, host="192.168.1.5", port=9003).public_url == "http://192.168.1.5:9003"
    given = {"TEND_PORT": "18231", "TEND_PUBLIC_URL": "https://tend.example.com/"}
    assert load(given, var_dir=tmp_path, port=9004).public_url == "https://tend.example.com"


def test_it_keeps_a_generated_secret_key_per_install(tmp_path):
    assert load({}, var_dir=tmp_path).secret_key == load({}, var_dir=tmp_path).secret_key


@pytest.mark.parametrize("url", ["postgres://u:p@db/tend", "postgresql://u:p@db/tend"])
def test_it_maps_plain_postgres_urls_to_the_installed_driver(url):
    assert load(GOOD | {"DATABASE_URL": url}).database_url == "postgresql+psycopg://u:p@db/tend"


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://redis"}, "REDIS_URL"),
        (
            {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+12125550101"},
            "TWILIO_ACCOUNT_SID",
        ),
        ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_FROM_NUMBER": "+12125550101"}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_AUTH_TOKEN": "t"}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_FROM_NUMBER"),
        ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "12345"}, "TWILIO_FROM_NUMBER"),
        ({"TWILIO_MESSAGING_SERVICE_SID": "MGxyz"}, "TWILIO_MESSAGING_SERVICE_SID"),
        ({"TWILIO_API_BASE_URL": "ftp://x"}, "TWILIO_API_BASE_URL"),
        ({"TEND_PUBLIC_URL": "tend.example.com"}, "TEND_PUBLIC_URL"),
        ({"TEND_SECRET_KEY": "short"}, "TEND_SECRET_KEY"),
        ({"TEND_CLOCK_INTERVAL": "soon"}, "TEND_CLOCK_INTERVAL"),
        ({"TEND_CLOCK_INTERVAL": "0"}, "TEND_CLOCK_INTERVAL"),
        ({"TEND_PORT": "80000"}, "TEND_PORT"),
        ({"TEND_PORT": "8.5"}, "TEND_PORT"),
        ({"TEND_SMS_MPS": "-1"}, "TEND_SMS_MPS"),
        ({"TEND_TWILIO_CONCURRENCY": "0"}, "TEND_TWILIO_CONCURRENCY"),
        ({"TEND_TWILIO_CONCURRENCY": "many"}, "TEND_TWILIO_CONCURRENCY"),
        ({"TEND_DISPATCH_LEAD": "-5"}, "TEND_DISPATCH_LEAD"),
        ({"TEND_API_RATE_LIMIT": "lots"}, "TEND_API_RATE_LIMIT"),
        ({"TEND_SIGNUP_RATE_LIMIT": "5 per fortnight"}, "TEND_SIGNUP_RATE_LIMIT"),
        ({"TEND_TRUSTED_PROXIES": "-1"}, "TEND_TRUSTED_PROXIES"),
    ],
)
def test_a_bad_value_names_its_variable(env, variable):
    error = problem(env)
    assert error.variable == variable
    assert str(error).startswith(f"{variable}: ") and "\n" not in str(error)


def test_secrets_can_come_from_mounted_files(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("from-a-file-0123456789\n")
    assert load({"TEND_SECRET_KEY_FILE": str(secret)}).secret_key == "from-a-file-0123456789"


def test_twilio_settings_are_accepted_and_normalized():
    config = load(
        GOOD
        | {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM_NUMBER": "+1 212 555 0101",
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9999/",
        }
    )
    assert config.uses_twilio and config.twilio_from_number == "+12125550101"
    assert config.twilio_api_base_url == "http://127.0.0.1:9999"


def tend(tmp_path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`tend ARGS` in a clean environment (`env`, a PATH and a secret key) from an empty folder."""
    return subprocess.run(
        [sys.executable, "-m", "service.entry.cli", *args],
        env={"PATH": "/usr/bin:/bin", "TEND_SECRET_KEY": "x" * 20} | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tend_fails_at_start_with_one_line_for_an_unreachable_database(tmp_path):
    result = tend(tmp_path, {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "db", "upgrade")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("tend: configuration error: DATABASE_URL: cannot connect")
    assert len(result.stderr.strip().splitlines()) == 1


def test_tend_fails_at_start_naming_a_bad_variable(tmp_path):
    result = tend(tmp_path, {"TEND_PORT": "http"}, "web")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "tend: configuration error: TEND_PORT: must be an integer between 1 and 65535 (got 'http')"
    )


def test_redis_url_file_gives_the_workers_the_redis_broker(tmp_path, redis_url):
    """REDIS_URL from a mounted secret reaches the Dramatiq workers, not only the config (it once left them on
    an in-process queue that nothing fed)."""
    secret = tmp_path / "redis-url"
    secret.write_text(redis_url + "\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "REDIS_URL_FILE": str(secret),
        "DATABASE_URL": f"sqlite:///{tmp_path}/tend.db",
        "TEND_SECRET_KEY": "x" * 20,
    }
    probe = "import service.entry.worker_process as w; print(type(w.broker).__name__, w.broker.client.ping())"
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["RedisBroker", "True"]
