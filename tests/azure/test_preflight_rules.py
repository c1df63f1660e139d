"""The preflight's reading of Resource Manager's throttling headers (no process started)."""

from __future__ import annotations

from fleet.preflight import headroom


def test_headroom_reads_subscription_and_compute_buckets() -> None:
    found = headroom(
        {
            "x-ms-ratelimit-remaining-subscription-reads": "249",
            "x-ms-ratelimit-remaining-resource": (
                "Microsoft.Compute/HighCostGet3Min;46,Microsoft.Compute/HighCostGet30Min;199"
            ),
        }
    )
    assert found.status == "ok"
    assert (
        "Microsoft.Compute/HighCostGet3Min 46" in found.text
        and "subscription-reads 249" in found.text
    )


def test_low_headroom_warns_and_an_empty_bucket_blocks() -> None:
    assert headroom({"x-ms-ratelimit-remaining-subscription-reads": "7"}).status == "warn"
    empty = headroom({"x-ms-ratelimit-remaining-resource": "Microsoft.Compute/HighCostGet3Min;0"})
    assert empty.status == "blocker" and "refill" in empty.text


def test_no_headers_is_not_reported() -> None:
    assert headroom({"content-type": "application/json"}).status == "info"
