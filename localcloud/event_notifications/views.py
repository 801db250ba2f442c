"""The admin API's response bodies, named after the SDK models they must parse as
(`ibm_eventnotifications.event_notifications_v1`), and its paging.

Paging (`list_sources`/`list_topics`/`list_destinations`/`list_subscriptions`: `limit`, `offset`,
`search`): the body carries `total_count`, `offset`, `limit` and `first`/`previous`/`next` as
`{"href": ...}` (`SourceList`, `PageHrefResponse`). Unknown, and the stricter choice made here:
`limit` defaults to 10 and must be 1-100, `offset` must be >= 0 (else 400); `search` keeps the
items whose name contains it, case-insensitively.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.datastructures import QueryParams
from starlette.requests import Request

from localcloud.event_notifications.catalog import Catalog, Subscription
from localcloud.event_notifications.delivery import Destination
from localcloud.event_notifications.send import invalid
from localcloud.event_notifications.topics import CustomSource, Topic

T = TypeVar("T")
DEFAULT_LIMIT, MAX_LIMIT = 10, 100


def page(
    request: Request,
    *,
    key: str,
    items: Sequence[T],
    name: Callable[[T], str],
    render: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """A page of `items` as the request's `limit`, `offset` and `search` ask."""
    url, params = str(request.url.replace(query="")), request.query_params
    limit = _int(params, "limit", DEFAULT_LIMIT)
    offset = _int(params, "offset", 0)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise invalid(f"'limit' must be 1-{MAX_LIMIT} and 'offset' at least 0")
    search = params.get("search", "").lower()
    chosen = [i for i in items if search in name(i).lower()]

    def href(at: int) -> dict[str, str]:
        query = {"limit": str(limit), "offset": str(at)}
        if search:
            query["search"] = params["search"]
        return {"href": f"{url}?{urllib.parse.urlencode(query)}"}

    body: dict[str, Any] = {
        "total_count": len(chosen),
        "offset": offset,
        "limit": limit,
        key: [render(i) for i in chosen[offset : offset + limit]],
        "first": href(0),
    }
    if offset > 0:
        body["previous"] = href(max(0, offset - limit))
    if offset + limit < len(chosen):
        body["next"] = href(offset + limit)
    return body


def _int(params: QueryParams, key: str, default: int) -> int:
    try:
        return int(params.get(key, default))
    except ValueError:
        raise invalid(f"'{key}' must be an integer") from None


class Views:
    """Renders catalog records; counts and names come from the catalog at render time."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # -- sources -------------------------------------------------------------------------------
    def source_created(self, s: CustomSource) -> dict[str, Any]:
        """`SourceResponse`."""
        return {
            "id": s.id,
            "name": s.name,
            "description": s.description,
            "enabled": s.enabled,
            "store_notifications": s.store_notifications,
            "created_at": s.created_at,
        }

    def source(self, s: CustomSource) -> dict[str, Any]:
        """`Source`; `SourceListItem` is the same without `topic_names`."""
        topics = self.catalog.topics_naming(s.id)
        return {
            "id": s.id,
            "name": s.name,
            "description": s.description,
            "type": s.type,
            "enabled": s.enabled,
            "store_notifications": s.store_notifications,
            "updated_at": s.updated_at,
            "topic_count": len(topics),
            "topic_names": [t.name for t in topics],
        }

    # -- topics --------------------------------------------------------------------------------
    def topic_created(self, t: Topic) -> dict[str, Any]:
        """`TopicResponse`."""
        return {
            "id": t.id,
            "name": t.name,
            "description": t.description,
            "created_at": t.created_at,
        }

    def topic(self, t: Topic) -> dict[str, Any]:
        """`Topic`."""
        sources = []
        for source_id in t.source_ids:
            known = self.catalog.sources.get(source_id)
            rules = [r.to_dict() for r in t.rules if r.source_id == source_id]
            name = known.name if known else ""
            sources.append({"id": source_id, "name": name, "rules": rules})
        subscriptions = self.catalog.subscriptions_of(topic_id=t.id)
        return {
            "id": t.id,
            "name": t.name,
            "description": t.description,
            "updated_at": t.updated_at,
            "source_count": len(sources),
            "sources": sources,
            "subscription_count": len(subscriptions),
            "subscriptions": [self.subscription_item(s) for s in subscriptions],
        }

    def topic_item(self, t: Topic) -> dict[str, Any]:
        """`TopicsListItem`."""
        names = [self.catalog.sources[i].name for i in t.source_ids if i in self.catalog.sources]
        return {
            "id": t.id,
            "name": t.name,
            "description": t.description,
            "source_count": len(t.source_ids),
            "sources_names": names,
            "subscription_count": len(self.catalog.subscriptions_of(topic_id=t.id)),
        }

    # -- destinations --------------------------------------------------------------------------
    def destination_created(self, d: Destination) -> dict[str, Any]:
        """`DestinationResponse`."""
        return {
            "id": d.id,
            "name": d.name,
            "description": d.description,
            "type": d.api_type,
            "collect_failed_events": d.collect_failed_events,
            "config": d.config(),
            "created_at": d.created_at,
        }

    def destination(self, d: Destination) -> dict[str, Any]:
        """`Destination`; `DestinationListItem` is the same without `config`."""
        subscriptions = self.catalog.subscriptions_of(destination_id=d.id)
        return {
            "id": d.id,
            "name": d.name,
            "description": d.description,
            "type": d.api_type,
            "collect_failed_events": d.collect_failed_events,
            "config": d.config(),
            "updated_at": d.updated_at,
            "subscription_count": len(subscriptions),
            "subscription_names": [s.name for s in subscriptions],
        }

    def destination_item(self, d: Destination) -> dict[str, Any]:
        return {k: v for k, v in self.destination(d).items() if k != "config"}

    # -- subscriptions -------------------------------------------------------------------------
    def subscription(self, s: Subscription) -> dict[str, Any]:
        """`Subscription`, with the webhook attributes `SubscriptionAttributesWebhook...`."""
        destination = self.catalog.destinations.get(s.destination_id)
        attributes: dict[str, Any] = {}
        if destination is not None and destination.kind == "webhook":
            attributes = {"signing_enabled": s.signing_enabled, "add_notification_payload": False}
        return {**self.subscription_item(s), "attributes": attributes}

    def subscription_item(self, s: Subscription) -> dict[str, Any]:
        """`SubscriptionListItem`."""
        destination = self.catalog.destinations.get(s.destination_id)
        topic = self.catalog.topics.get(s.topic_id or "")
        return {
            "id": s.id,
            "name": s.name,
            "description": s.description,
            "destination_id": s.destination_id,
            "destination_name": destination.name if destination else "",
            "destination_type": destination.api_type if destination else "webhook",
            "topic_id": s.topic_id or "",
            "topic_name": topic.name if topic else "",
            "updated_at": s.updated_at,
        }
