"""`scim probe`: what a SCIM service provider says it supports, and what a push would do with it.

It reads /ServiceProviderConfig only (RFC 7643 §5, with RFC 9865's
`pagination`) and changes nothing; then it says how a push with the chosen profile and options would page, how
many resources it would ask for, and where the two disagree (a profile that
pages by index against a provider that says cursor only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from reconciler.core.characters import scrub
from reconciler.scim.client import DirectoryClient
from reconciler.scim.profiles import Members, Paging, Settings
from reconciler.scim.records import ProviderConfig

#: The JSON of a probe; its own numbering.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Probe:
    """A provider's ServiceProviderConfig, and the settings, paging and page size a push would use."""

    url: str
    config: ProviderConfig
    settings: Settings
    paging: Paging
    page_count: int

    def warnings(self) -> list[str]:
        """Where the settings ask for what the provider says it does not do."""
        config, found = self.config, []
        if self.paging == Paging.CURSOR and config.cursor is False:
            found.append(
                "the settings page by cursor, which the provider says it does not: use --paging index"
            )
        if self.paging == Paging.INDEX and config.index is False:
            found.append(
                "the settings page by index, which the provider says it does not: use --paging cursor"
            )
        if config.patch is False:
            found.append(
                "the provider says it does not support PATCH, which a push needs for members and changes"
            )
        if self.settings.members == Members.FILTER and config.filter is False:
            found.append("members are read by filter, which the provider says it does not support")
        return found


def probe(client: DirectoryClient) -> Probe:
    """Read the provider's ServiceProviderConfig and work out what a push would do with it."""
    return Probe(client.url, client.provider_config(), client.settings, client.paging(), client.page_count())


def _said(value: object) -> str:
    if value is None:
        return "not said"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _paging(config: ProviderConfig) -> str:
    said = [
        f"{name} {_said(value)}"
        for name, value in (
            ("index", config.index),
            ("cursor", config.cursor),
            ("default", config.default_paging),
            ("default page size", config.default_page_size),
            ("largest page", config.max_page_size),
        )
        if value is not None
    ]
    if config.cursor_timeout is not None:
        said.append(f"cursors last {config.cursor_timeout:,} s")
    return ", ".join(said) or "not said (startIndex paging is RFC 7644's own)"


def render_text(found: Probe) -> Iterator[str]:
    config = found.config
    yield scrub(f"SCIM service provider at {found.url}")
    if not config.offered:
        yield "  /ServiceProviderConfig: not offered (404, 405 or 501); a push assumes the defaults"
    else:
        rows = [
            ("PATCH", _said(config.patch)),
            (
                "bulk",
                _said(config.bulk)
                + (
                    f" (at most {_said(config.bulk_max_operations)} operations, "
                    f"{_said(config.bulk_max_payload)} bytes)"
                    if config.bulk
                    else ""
                ),
            ),
            ("filter", _said(config.filter) + f", maxResults {_said(config.max_results)}"),
            ("ETags", _said(config.etag)),
            ("sort", _said(config.sort)),
            ("change password", _said(config.change_password)),
            ("paging (RFC 9865)", _paging(config)),
            ("authentication", ", ".join(config.authentication) or "not said"),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            yield scrub(f"  {name:<{width}}  {value}")
    yield ""
    yield f"A push with {found.settings.describe()}"
    yield f"  would page by {found.paging}, {found.page_count} resources a page."
    for warning in found.warnings():
        yield f"  Warning: {warning}."


def render_json(found: Probe) -> str:
    body: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "url": found.url,
        "provider": asdict(found.config),
        "settings": found.settings.as_json(),
        "push": {"paging": found.paging, "page_count": found.page_count},
        "warnings": found.warnings(),
    }
    return json.dumps(body, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
