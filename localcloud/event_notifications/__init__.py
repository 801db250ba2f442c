"""Event Notifications: Secrets Manager events fanned out to webhooks and Code Engine."""

from localcloud.event_notifications.delivery import Delivery, Destination
from localcloud.event_notifications.routes import routes
from localcloud.event_notifications.service import EventNotifications, Subscription

__all__ = ["Delivery", "Destination", "EventNotifications", "Subscription", "routes"]
