"""How a service connects to NATS: the servers, its identity, its reply inbox and TLS, from settings."""

import ssl
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.security import NatsCredentials, NatsNKey, NatsSecurity, NatsUserPassword

from dispatch_common.nats_permissions import inbox_prefix
from dispatch_common.settings import ServiceSettings


def tls_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """A TLS context when a CA or a client certificate is configured, else None."""
    if not (settings.nats_tls_ca_file or settings.nats_tls_cert_file):
        return None
    cafile = str(settings.nats_tls_ca_file) if settings.nats_tls_ca_file else None
    context = ssl.create_default_context(cafile=cafile)
    if settings.nats_tls_cert_file and settings.nats_tls_key_file:
        context.load_cert_chain(str(settings.nats_tls_cert_file), str(settings.nats_tls_key_file))
    return context


def security(settings: ServiceSettings) -> NatsSecurity | None:
    """The identity the service presents (nkey, credentials file or user and password) and its TLS."""
    context = tls_context(settings)
    if settings.nats_nkey_seed_file is not None:
        return NatsNKey(settings.nats_nkey_seed_file, ssl_context=context)
    if settings.nats_creds_file is not None:
        return NatsCredentials(str(settings.nats_creds_file), ssl_context=context)
    if settings.nats_user is not None and settings.nats_password is not None:
        password = settings.nats_password.get_secret_value()
        return NatsUserPassword(settings.nats_user, password, ssl_context=context)
    return NatsSecurity(ssl_context=context) if context else None


def service_inbox(settings: ServiceSettings) -> str:
    """The service's reply inbox prefix: the one its NATS user may subscribe to."""
    return settings.nats_inbox_prefix or inbox_prefix(settings.service_name)


def broker(settings: ServiceSettings, **options: Any) -> NatsBroker:
    """A FastStream broker connecting as the service, with the given further options."""
    return NatsBroker(
        settings.nats_servers,
        security=security(settings),
        inbox_prefix=service_inbox(settings),
        **options,
    )
