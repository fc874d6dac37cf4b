"""Admin for alert rules, silences and the read-only alert history."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from perfdash.alerts import services
from perfdash.alerts.models import (
    Notification,
    Rule,
    Silence,
    Tick,
    Transition,
)


class SilenceInline(admin.TabularInline):
    model = Silence
    extra = 0
    fields = ["starts_at", "ends_at", "reason", "source", "created_by"]
    readonly_fields = ["source", "created_by"]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "metric",
        "comparison",
        "threshold",
        "recovery_threshold",
        "severity",
        "enabled",
        "current_state",
    ]
    list_filter = ["enabled", "severity", "metric"]
    search_fields = ["name"]
    filter_horizontal = ["recipients"]
    readonly_fields = ["current_state"]
    inlines = [SilenceInline]
    actions = ["send_test_email", "silence_for_an_hour"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rule]:
        return super().get_queryset(request).select_related("state")

    @admin.display(description="state")
    def current_state(self, rule: Rule) -> str:
        state = getattr(rule, "state", None)
        return state.get_state_display() if state else "not evaluated yet"

    @admin.action(description="Send a test email for the selected rules")
    def send_test_email(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        for rule in queryset:
            notification = services.send_test_email(rule=rule)
            if notification.status == Notification.Status.SENT:
                self.message_user(
                    request,
                    f"Test email for {rule.name} sent to "
                    f"{', '.join(notification.recipients)}.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    f"Test email for {rule.name} failed: {notification.error}",
                    messages.ERROR,
                )

    @admin.action(description="Silence the selected rules for an hour")
    def silence_for_an_hour(
        self, request: HttpRequest, queryset: QuerySet[Rule]
    ) -> None:
        for rule in queryset:
            services.silence_rule(
                rule=rule,
                minutes=60,
                source=Silence.Source.ADMIN,
                user_id=request.user.pk,
            )
        count = len(queryset)
        self.message_user(
            request,
            ngettext(
                "Silenced %(count)d rule for an hour.",
                "Silenced %(count)d rules for an hour.",
                count,
            )
            % {"count": count},
        )

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        for silence in formset.save(commit=False):
            if silence.created_by_id is None:
                silence.created_by_id = request.user.pk
            silence.save()
        for deleted in formset.deleted_objects:
            deleted.delete()


class ReadOnlyAdmin(admin.ModelAdmin):
    """History written only by the evaluator: viewable, never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdmin):
    list_display = ["at", "rule", "from_state", "to_state", "value", "sample_count"]
    list_filter = ["to_state", "rule"]
    date_hierarchy = "at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "rule", "kind", "status", "sent_at", "attempts"]
    list_filter = ["status", "kind", "rule"]
    date_hierarchy = "created_at"


@admin.register(Tick)
class TickAdmin(ReadOnlyAdmin):
    list_display = ["at", "started_at", "finished_at", "hostname", "rules_evaluated"]


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ["rule", "starts_at", "ends_at", "source", "created_by", "reason"]
    list_filter = ["source", "rule"]
    readonly_fields = ["source", "created_by"]

    def save_model(
        self, request: HttpRequest, obj: Silence, form: Any, change: bool
    ) -> None:
        if obj.created_by_id is None:
            obj.created_by_id = request.user.pk
        super().save_model(request, obj, form, change)
