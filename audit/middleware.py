"""django-auditlog's middleware, with the client's address as the lockout sees it.

auditlog's own takes the first address of ``X-Forwarded-For`` from anyone, and
``X-Forwarded-Port`` too: a visitor could write any address into the log.
"""

from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware

from config.proxies import client_address, is_trusted_proxy


class AuditlogMiddleware(BaseAuditlogMiddleware):
    @staticmethod
    def _get_remote_addr(request):
        return client_address(request)

    @staticmethod
    def _get_remote_port(request) -> int | None:
        if not is_trusted_proxy(request):
            return None
        return BaseAuditlogMiddleware._get_remote_port(request)
