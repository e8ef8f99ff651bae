"""SPEC §7's settings, migration 0007 both ways, and the notes' words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from app.db import Database, table_of
from app.migrate import alembic_config, upgrade_to_head
from app.models import SesMirror, SuppressionChange
from app.settings import describe_settings_error
from app.suppression import ses_notes
from tests.conftest import make_settings
from tests.databases import DatabaseFactory

AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
LONG_REGION = "us-" + "east" * 10 + "-1"  # 45 characters: it looks like a region code


class TestSettings:
    def test_defaults(self) -> None:
        settings = make_settings()
        assert settings.SES_SYNC == "off"
        assert settings.SES_SYNC_INTERVAL_SECONDS == 300
        assert settings.SES_SYNC_REGIONS == []
        assert settings.ses_sync_regions == ["us-east-1"]
        assert make_settings(AWS_REGION="eu-west-2").ses_sync_regions == ["eu-west-2"]

    def test_regions_are_a_comma_list(self) -> None:
        settings = make_settings(
            SES_SYNC="Both", SES_SYNC_REGIONS=" us-east-1, EU-WEST-1 ,us-east-1,us-gov-west-1"
        )
        assert settings.SES_SYNC == "both"
        assert settings.ses_sync_regions == ["us-east-1", "eu-west-1", "us-gov-west-1"]

    @pytest.mark.parametrize(
        ("values", "named"),
        [
            ({"SES_SYNC_REGIONS": "us-east-1,useast1"}, "'useast1' is not an AWS region"),
            ({"SES_SYNC_REGIONS": "https://email.us-east-1.amazonaws.com"}, "SES_SYNC_REGIONS"),
            ({"SES_SYNC": "push"}, "SES_SYNC"),
            ({"SES_SYNC_INTERVAL_SECONDS": "-1"}, "SES_SYNC_INTERVAL_SECONDS"),
            # Every sync table stores a region in REGION_LENGTH (32) characters.
            ({"SES_SYNC_REGIONS": LONG_REGION}, "longer than 32 characters"),
            ({"SES_SYNC": "both", "AWS_REGION": LONG_REGION}, "AWS_REGION"),
            ({"SES_SYNC": "pull", "AWS_REGION": "eu-west"}, "AWS_REGION"),
        ],
    )
    def test_a_bad_value_is_one_line_naming_it(self, values: dict[str, str], named: str) -> None:
        with pytest.raises(ValidationError) as caught:
            make_settings(**values)
        line = describe_settings_error(caught.value)
        assert named in line
        assert "\n" not in line

    def test_aws_region_is_not_the_syncs_while_it_is_off_or_regions_are_set(self) -> None:
        assert make_settings(AWS_REGION=LONG_REGION).SES_SYNC == "off"
        both = make_settings(SES_SYNC="both", SES_SYNC_REGIONS="eu-west-1", AWS_REGION="x")
        assert both.ses_sync_regions == ["eu-west-1"]

    def test_zero_means_on_demand_only(self) -> None:
        assert make_settings(SES_SYNC_INTERVAL_SECONDS="0").SES_SYNC_INTERVAL_SECONDS == 0


def test_the_cause_is_only_an_on_account_suppression_list_permanent_bounce() -> None:
    assert ses_notes.cause("Permanent", "OnAccountSuppressionList") is not None
    assert ses_notes.cause("Permanent", "Suppressed") is None
    assert ses_notes.cause("Transient", "OnAccountSuppressionList") is None
    assert ses_notes.cause(None, None) is None


@pytest.fixture
def empty_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh(migrated=False)
    yield url
    databases.release(url)


def _to(revision: str) -> object:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    return run


class TestMigration0007:
    async def test_downgrade_drops_the_tables_and_the_noted_lines(self, empty_url: str) -> None:
        database = Database(empty_url)
        try:
            await upgrade_to_head(database.engine)
            line = {"email": "a@example.com", "actor": "sync:us-east-1", "at": AT}
            mirror = {"region": "us-east-1", "email": "A@example.com", "key": "a@example.com"}
            async with database.engine.connect() as connection:
                await connection.execute(
                    insert(table_of(SuppressionChange)),
                    [line | {"action": "added"}, line | {"action": "noted"}],
                )
                await connection.execute(
                    insert(table_of(SesMirror)), [mirror | {"reason": "BOUNCE", "last_update": AT}]
                )
                await connection.commit()
                await connection.run_sync(_to("0006"))  # type: ignore[arg-type]
                await connection.commit()
                tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
                assert not tables & {"ses_mirror", "ses_sync_state", "ses_outbox", "ses_sync_lease"}
                actions = await connection.scalars(text("SELECT action FROM suppression_change"))
                assert list(actions) == ["added"]
                with pytest.raises(IntegrityError):
                    await connection.execute(
                        insert(table_of(SuppressionChange)), [line | {"action": "noted"}]
                    )
                await connection.rollback()
            await upgrade_to_head(database.engine)
        finally:
            await database.dispose()
