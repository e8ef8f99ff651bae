"""The commands ``bouncer aws doctor`` names as fixes: ``bouncer aws setup`` for what it
manages (identities, configuration sets, its own ``P-bounces``/``P-complaints``/
``P-deliveries`` topics), the AWS CLI for the rest. Each is a line to paste."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from app.aws_wiring.doctor_wiring import Publisher

# The topics `bouncer aws setup --topic-prefix P` makes and manages (SPEC §11).
_SETUP_TOPIC = re.compile(r"(?P<prefix>.+)-(?:bounces|complaints|deliveries)")
# Where the operator's HTTPS endpoint goes when the doctor could not tell it.
PLACEHOLDER_ENDPOINT = "https://YOUR-BOUNCER-HOST/sns"


@dataclass(frozen=True)
class Fixes:
    """Fix commands for one region and bouncer endpoint (``--endpoint``, or the one the
    confirmed subscriptions point at, else a placeholder to fill in)."""

    region: str
    endpoint: str

    def setup(
        self, *, identities: Sequence[str] = (), configuration_sets: Sequence[str] = ()
    ) -> str:
        words = ["bouncer", "aws", "setup", "--endpoint", self.endpoint, "--region", self.region]
        for identity in identities:
            words += ["--identity", identity]
        for name in configuration_sets:
            words += ["--configuration-set", name]
        return shlex.join(words)

    def setup_for(self, publishers: Sequence[Publisher]) -> str:
        return self.setup(
            identities=[p.name for p in publishers if p.is_identity],
            configuration_sets=[p.name for p in publishers if not p.is_identity],
        )

    def subscribe(self, topic_arn: str) -> str:
        if (prefix := setup_prefix(topic_arn)) is not None:
            return self.setup() + " " + shlex.join(["--topic-prefix", prefix])
        return shlex.join(
            [
                "aws", "sns", "subscribe", "--region", self.region, "--topic-arn", topic_arn,
                "--protocol", "https", "--notification-endpoint", self.endpoint,
            ]
        )  # fmt: skip

    def raw_delivery_off(self, subscription_arn: str) -> str:
        return shlex.join(
            [
                "aws", "sns", "set-subscription-attributes", "--region", self.region,
                "--subscription-arn", subscription_arn,
                "--attribute-name", "RawMessageDelivery", "--attribute-value", "false",
            ]
        )  # fmt: skip

    def signature_version_2(self, topic_arn: str) -> str:
        return shlex.join(
            [
                "aws", "sns", "set-topic-attributes", "--region", self.region,
                "--topic-arn", topic_arn,
                "--attribute-name", "SignatureVersion", "--attribute-value", "2",
            ]
        )  # fmt: skip

    def confirm(self, topic_arn: str) -> str:
        return shlex.join(["bouncer", "subscriptions", "confirm", topic_arn])

    def account_suppression(self) -> str:
        return shlex.join(
            [
                "aws", "sesv2", "put-account-suppression-attributes", "--region", self.region,
                "--suppressed-reasons", "BOUNCE", "COMPLAINT",
            ]
        )  # fmt: skip

    def resume_sending(self) -> str:
        return shlex.join(
            ["aws", "sesv2", "put-account-sending-attributes", "--region", self.region,
             "--sending-enabled"]
        )  # fmt: skip

    def create_configuration_set(self, name: str) -> str:
        made = shlex.join(
            ["aws", "sesv2", "create-configuration-set", "--region", self.region,
             "--configuration-set-name", name]
        )  # fmt: skip
        return f"{made} && {self.setup(configuration_sets=[name])}"


def trust(topic_arn: str) -> str:
    return f"add {topic_arn} to SNS_TOPIC_ARNS and restart bouncer"


def setup_prefix(topic_arn: str) -> str | None:
    """The ``--topic-prefix`` of a topic `bouncer aws setup` would manage, if it is one."""
    name = topic_arn.rsplit(":", 1)[-1]
    match = _SETUP_TOPIC.fullmatch(name)
    return match["prefix"] if match else None
