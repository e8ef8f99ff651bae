"""review17: SES_SYNC_REGIONS accepts any code the region regex matches, however long,
while every sync table stores a region in 32 characters (models.REGION_LENGTH)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.conftest import WRITE, AppMaker, make_settings

LONG_REGION = "us-" + "east" * 10 + "-1"  # 45 characters, matches _AWS_REGION


def test_a_region_longer_than_the_columns_is_refused_at_start() -> None:
    with pytest.raises(ValidationError):
        make_settings(SES_SYNC="both", SES_SYNC_REGIONS=LONG_REGION)


async def test_a_removal_never_answers_500_whatever_ses_sync_regions_says(
    make_client: AppMaker,
) -> None:
    client, _ = await make_client(SES_SYNC="both", SES_SYNC_REGIONS=LONG_REGION)
    made = await client.put("/v1/suppressions/ann@example.com", json={}, headers=WRITE)
    assert made.status_code == 201
    gone = await client.delete("/v1/suppressions/ann@example.com", headers=WRITE)
    assert gone.status_code == 204, gone.text
