from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for sign-ins that come with a request.

    Axes refuses ``authenticate()`` without a request; code that checks a
    password outside a request (a management command, a shell, the seed
    command's own test) is not a sign-in from the network, so it is let through
    to the password check instead.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
