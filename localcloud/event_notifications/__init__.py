"""Event Notifications: Secrets Manager events and custom sources' notifications fanned out to
webhooks and Code Engine."""

from localcloud.event_notifications.delivery import Delivery, Destination
from localcloud.event_notifications.routes import routes
from localcloud.event_notifications.service import EventNotifications, Subscription
from localcloud.event_notifications.topics import Rule

__all__ = ["Delivery", "Destination", "EventNotifications", "Rule", "Subscription", "routes"]
