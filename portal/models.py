"""Alerts by e-mail (issue 16, part 6): what a login chose to be told about, and what it was told.

Each login chooses for itself; nothing here is shared between logins. What a login is told about is
what it may see at the moment the alert is found and again when it is mailed (see portal.alerts)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from telephony.models import ProvisioningJob, Server

# A push may fail in a transaction that commits after a later one was read: failures are read again
# this far back before `AlertSubscription.read_until` (their notices already written are not written
# twice). A new subscription starts this far ahead, so that nothing from before it is read.
FAILURE_LOOKBACK = timedelta(minutes=10)


class AlertTopic(models.TextChoices):
    FAILED_PUSHES = "failed_pushes", gettext_lazy("Failed pushes")
    SERVER_DEGRADED = "server_degraded", gettext_lazy("A server turns degraded or failing")


class AlertDelivery(models.TextChoices):
    IMMEDIATE = "immediate", gettext_lazy("At once (within a minute)")
    DIGEST = "digest", gettext_lazy("Once a day, in a digest")


class AlertSubscription(models.Model):
    """One login's choice to be mailed about one topic, at once or in the daily digest.

    `read_until` is how far the failed pushes have been read for this subscription: a push that
    failed before it was already looked at (or before the login subscribed, so that subscribing
    does not mail the past)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("user"),
        on_delete=models.CASCADE,
        related_name="alert_subscriptions",
    )
    topic = models.CharField(verbose_name=gettext_lazy("topic"), max_length=20, choices=AlertTopic.choices)
    delivery = models.CharField(verbose_name=gettext_lazy("delivery"), max_length=10, choices=AlertDelivery.choices)
    read_until = models.DateTimeField(verbose_name=gettext_lazy("read until"))
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("alert subscription")
        verbose_name_plural = gettext_lazy("alert subscriptions")
        constraints = [models.UniqueConstraint(fields=["user", "topic"], name="alert_subscription_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_topic_display()} · {self.get_delivery_display()}"


class AlertServerState(models.Model):
    """The health of one server as one subscription last saw it (a server's health counts only
    what the login may see, so it is kept per subscription). `turns` counts how often it went from
    healthy to degraded or failing: the turn's number makes its alert's key, so that two runs that
    see the same turn write one alert."""

    subscription = models.ForeignKey(
        AlertSubscription,
        verbose_name=gettext_lazy("subscription"),
        on_delete=models.CASCADE,
        related_name="server_states",
    )
    server = models.ForeignKey(Server, verbose_name=gettext_lazy("server"), on_delete=models.CASCADE, related_name="+")
    health = models.CharField(verbose_name=gettext_lazy("health"), max_length=10)
    turns = models.PositiveIntegerField(verbose_name=gettext_lazy("turns"), default=0)

    class Meta:
        verbose_name = gettext_lazy("alert server state")
        verbose_name_plural = gettext_lazy("alert server states")
        constraints = [models.UniqueConstraint(fields=["subscription", "server"], name="alert_server_state_unique")]

    def __str__(self) -> str:
        return f"{self.server} seen {self.health} by subscription #{self.subscription_id}"


class AlertNotice(models.Model):
    """One thing a login is told about, written once (unique key per subscription) and mailed once:
    `mailed_at` is set in the transaction that sends it, by the one run that claims it."""

    subscription = models.ForeignKey(
        AlertSubscription, verbose_name=gettext_lazy("subscription"), on_delete=models.CASCADE, related_name="notices"
    )
    key = models.CharField(
        verbose_name=gettext_lazy("key"),
        max_length=100,
        help_text=gettext_lazy("What it is about, e.g. job:12@<finish time> or server:3#2"),
    )
    job = models.ForeignKey(
        ProvisioningJob,
        verbose_name=gettext_lazy("job"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    server = models.ForeignKey(
        Server, verbose_name=gettext_lazy("server"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.TextField(
        verbose_name=gettext_lazy("text"), help_text=gettext_lazy("The line of the mail, plain text")
    )
    occurred_at = models.DateTimeField(verbose_name=gettext_lazy("occurred at"))
    mailed_at = models.DateTimeField(verbose_name=gettext_lazy("mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("alert notice")
        verbose_name_plural = gettext_lazy("alert notices")
        constraints = [models.UniqueConstraint(fields=["subscription", "key"], name="alert_notice_unique")]
        indexes = [models.Index(fields=["subscription", "mailed_at"], name="alert_notice_unmailed")]
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return self.text


class AlertDigest(models.Model):
    """A login's digest of one day was sent: one row per login and day, so that a second run on the
    same day (or a second worker at the same minute) sends no second digest."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("user"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(verbose_name=gettext_lazy("day"))
    sent_at = models.DateTimeField(verbose_name=gettext_lazy("sent at"))

    class Meta:
        verbose_name = gettext_lazy("alert digest")
        verbose_name_plural = gettext_lazy("alert digests")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="alert_digest_once_a_day")]

    def __str__(self) -> str:
        return f"digest of {self.day} for {self.user}"


from portal.api.models import ApiToken, IdempotentRequest, TokenScope  # noqa: E402,F401  (the API's models)
