from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from two_factor import views as two_factor_views

from . import views

# django-two-factor-auth's enrolment pages, under its own namespace (its views
# reverse "two_factor:..."). Each change to the second factor asks for the
# password again.
two_factor_patterns = [
    path(
        "setup/",
        views.recent_password_required(two_factor_views.SetupView.as_view()),
        name="setup",
    ),
    path("qrcode/", two_factor_views.QRGeneratorView.as_view(), name="qr"),
    path(
        "setup/done/",
        two_factor_views.SetupCompleteView.as_view(),
        name="setup_complete",
    ),
    path(
        "backup-codes/",
        views.recent_password_required(two_factor_views.BackupTokensView.as_view()),
        name="backup_tokens",
    ),
    path("", views.account, name="profile"),
    path(
        "disable/",
        views.recent_password_required(views.DisableTwoFactorView.as_view()),
        name="disable",
    ),
]

urlpatterns = [
    path("", views.account, name="account"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.login_verify, name="login_verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("confirm-password/", views.confirm_password, name="confirm_password"),
    path(
        "password/",
        views.PasswordChangeView.as_view(success_url=reverse_lazy("account")),
        name="password_change",
    ),
    path("email/", views.email_change, name="email_change"),
    path("two-factor/", include((two_factor_patterns, "two_factor"))),
    path(
        "password-reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
