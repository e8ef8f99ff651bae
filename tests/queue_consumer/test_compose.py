"""docker-compose.yml's consumer service (`docker compose --profile sqs up`): it can be
given AWS credentials and the consumer's settings.

Read as text, the file's own two-space layout: PyYAML is no dependency of bouncer.
"""

from __future__ import annotations

import re
from pathlib import Path

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def block(lines: list[str], key: str, indent: int) -> list[str]:
    """The lines under ``key:`` at ``indent`` spaces, up to the next key at that indent."""
    start = lines.index(" " * indent + key + ":")
    inside = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip(" ")) <= indent:
            break
        inside.append(line)
    return inside


def consumer_environment() -> dict[str, str]:
    """NAME -> the text after ``NAME:`` ("" for a bare name, passed through from the shell)."""
    services = block(COMPOSE.read_text().splitlines(), "services", 0)
    environment = block(block(services, "consumer", 2), "environment", 4)
    found = (re.fullmatch(r" {6}([A-Z0-9_]+):(.*)", line) for line in environment)
    return {m[1]: m[2].split("#", 1)[0].strip() for m in found if m}


def test_the_consumer_can_be_given_aws_credentials() -> None:
    environment = consumer_environment()
    credentials = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    for name in credentials:
        # Passed through when set in the shell, unset otherwise: an empty AWS_PROFILE
        # would make botocore refuse to start ("The config profile () could not be found").
        assert environment.get(name) == "", f"{name} is not passed through: {environment}"


def test_the_consumer_takes_its_settings_from_the_shell() -> None:
    environment = consumer_environment()
    assert environment["SQS_QUEUE_URLS"] == "${SQS_QUEUE_URLS:-}"
    assert environment["SQS_WAIT_SECONDS"] == "${SQS_WAIT_SECONDS:-20}"
    assert environment["SQS_ACCEPT_UNSIGNED"] == "${SQS_ACCEPT_UNSIGNED:-false}"
    assert environment["DATABASE_URL"].startswith("postgresql://")
