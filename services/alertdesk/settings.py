"""The alert desk's own settings (FRONTDOOR_ALERTDESK_*), read once by its entry point beside the shared Settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, COUNCIL_TOTALS, EVENTS, IDENTITY


class AlertDeskSettings(BaseSettings):
    """Everything the desk reads besides the Kafka connection. Construct once and pass down."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_ALERTDESK_", extra="ignore", frozen=True)

    # Local users (hashed passwords); see `frontdoor alertdesk add-user`. There is no default user.
    users_file: Path = Path("alertdesk-users.toml")
    # Signs session and login cookies (HMAC-SHA256). Without it a random key is made at start, which
    # logs everyone out on restart; set a long random value in production.
    session_secret: SecretStr | None = None
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    session_idle_seconds: int = Field(default=30 * 60, ge=60)
    # Secure cookies are sent only over HTTPS (browsers also accept them from http://localhost for development).
    cookie_secure: bool = True
    # The council's case record for a child, e.g. https://lcs.example.gov.uk/child/{la_child_id}: {la_child_id} is
    # the council's own id, opened from the identity store by an audited reveal; {child_key} and {la_code} also work.
    case_record_url_template: str | None = None
    # Where people log in, for notifications (counts and this link only).
    public_url: str = "http://127.0.0.1:8080"

    # Behind a reverse proxy every client has the proxy's address: name the header it sets (e.g. X-Real-IP) so
    # sign-in throttling and connection caps see the real client. Leave unset when clients connect directly.
    client_address_header: str | None = None
    # Sign-in throttling: per user name and per client address, in a sliding window (docs/security.md).
    signin_user_free_failures: int = Field(default=3, ge=1)
    signin_user_lockout_failures: int = Field(default=10, ge=2)
    signin_address_free_failures: int = Field(default=20, ge=1)
    signin_address_lockout_failures: int = Field(default=100, ge=2)
    signin_lockout_seconds: int = Field(default=900, ge=10)
    max_concurrent_password_hashes: int = Field(default=2, ge=1, le=16)
    max_waiting_password_hashes: int = Field(default=16, ge=0)
    # Upgrade a stored scrypt (or outdated argon2) hash to argon2id at the user's next successful sign-in.
    rehash_on_sign_in: bool = True

    # Slow and many clients (docs/security.md has the reverse-proxy setup that goes in front).
    header_timeout_seconds: float = Field(default=10.0, gt=0)  # a request's headers must arrive within this
    body_timeout_seconds: float = Field(default=10.0, gt=0)  # and a form's body within this
    keepalive_timeout_seconds: float = Field(default=15.0, gt=0)  # an idle connection is closed after this
    # How often the desk checks that Kafka can take its actions and audit records; /healthz reports the result.
    kafka_health_interval_seconds: float = Field(default=5.0, gt=0, le=600)
    max_connections_per_address: int = Field(default=32, ge=1)
    max_connections: int = Field(default=200, ge=1)
    max_streams_per_session: int = Field(default=3, ge=1)  # live feed (SSE) connections one session may hold

    # Alerts per feed page (and per first stream snapshot): a page is what one audit record set covers.
    feed_page_size: int = Field(default=50, ge=10, le=500)
    # The read model: sqlite:///relative.db, sqlite:////absolute/path.db, sqlite:///:memory: (rebuilt from the
    # topics at every start), or postgresql://user@host/dbname (docs/alertdesk.md, "The read model").
    database_url: str = "sqlite:///alertdesk.sqlite3"
    # An alert whose anchor date (referral, contact, plan start) is more than this many days before it reached the
    # alerts topic goes to History: not the live feed, not notifications (e.g. alerts raised while loading history).
    history_after_days: int = Field(default=14, ge=0)

    # Council child ids one person may reveal (or open as case links) per hour; every reveal is audited as well.
    reveals_per_user_per_hour: int = Field(default=120, ge=1)

    # The bearer token Alertmanager's webhook (POST /hooks/alertmanager) must present; unset, every delivery is refused.
    alertmanager_token: SecretStr | None = None
    # Indicator and platform alerts kept for /indicators (latest state per fingerprint; the oldest go first).
    alertmanager_max_alerts: int = Field(default=500, ge=10, le=10_000)

    # OIDC in production (authorisation code flow with PKCE).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_url: str | None = None
    oidc_role_claim: str = "frontdoor_role"
    oidc_la_code_claim: str = "frontdoor_la_code"
    oidc_agency_claim: str = "frontdoor_agency"

    # Notifications outside the page: counts and a login link only.
    notify_interval_seconds: float = Field(default=60.0, ge=1.0)
    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    email_from: str = "frontdoor-alertdesk@localhost"
    email_to: tuple[str, ...] = ()

    # Topics (overridable so tests can use their own).
    alerts_topic: str = ALERTS.name
    actions_topic: str = ALERT_ACTIONS.name
    audit_topic: str = AUDIT.name
    # For the child timeline; empty turns the timeline's projection off (the desk principal then needs no READ on it).
    events_topic: str = EVENTS.name
    # The partner portal's council totals: the worker's council-month snapshots. Empty turns them off (the portal
    # then has no figures, and the desk principal needs no READ on the topic).
    totals_topic: str = COUNCIL_TOTALS.name
    identity_topic: str = IDENTITY.name

    @model_validator(mode="after")
    def _oidc_is_all_or_nothing(self) -> AlertDeskSettings:
        needed = (self.oidc_client_id, self.oidc_redirect_url)
        if self.oidc_issuer and not all(needed):
            raise ValueError(
                "FRONTDOOR_ALERTDESK_OIDC_ISSUER needs FRONTDOOR_ALERTDESK_OIDC_CLIENT_ID and "
                "FRONTDOOR_ALERTDESK_OIDC_REDIRECT_URL"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)
