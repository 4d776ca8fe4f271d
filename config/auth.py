"""Authentication API: JWT login, refresh, logout and the current user."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django.contrib import admin
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from config.errors import ApplicationError, ErrorCode
from config.openapi import error_responses
from config.tokens import refresh_token_revoke, refresh_token_rotate, tokens_issue
from monitoring.metrics import security_event_observe
from monitoring.models import AuditAction
from monitoring.services import audit_record, security_event_record

WORKFLOW_PERMISSIONS = ("workflow.read", "workflow.write", "workflow.execute", "workflow.admin")


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    is_staff = serializers.BooleanField()
    permissions = serializers.SerializerMethodField()

    def get_permissions(self, user) -> list[str]:
        return [perm for perm in WORKFLOW_PERMISSIONS if user.has_perm(perm)]


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Access token for `Authorization: Bearer`.")
    refresh = serializers.CharField(help_text="Refresh token for `POST /api/auth/refresh`.")
    expires = serializers.DateTimeField(help_text="When the access token expires.")


class LoginOutputSerializer(TokenSerializer):
    user = UserSerializer()


class LoginRateThrottle(SimpleRateThrottle):
    """THROTTLE_LOGIN_RATE per client address (TRUSTED_PROXIES), one budget for the API's
    login, refresh and logout and the admin's login form."""

    scope = "login"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def throttle_failure(self) -> bool:
        security_event_observe("login_throttled")
        return False


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's login form, under the login throttle, with its failures audited."""
    return throttled_login(request, lambda: admin.site.login(request, extra_context), "admin")


def ui_login(request: HttpRequest) -> HttpResponse:
    """The web UI's login form (`/login/`), under the same throttle and audit as the admin's."""
    view = LoginView.as_view(template_name="ui/login.html", redirect_authenticated_user=True,
                         extra_context={"title": "Sign in"})
    return throttled_login(request, lambda: view(request), "ui")


def throttled_login(request: HttpRequest, form: Callable[[], HttpResponse],
                    where: str) -> HttpResponse:
    """Answer a login form's POST only within THROTTLE_LOGIN_RATE, and audit its outcome."""
    if request.method != "POST":
        return form()
    throttle = LoginRateThrottle()
    if not throttle.allow_request(request, None):
        wait = max(1, int(throttle.wait() or 1))
        return HttpResponse(f"Too many login attempts from this address; retry in {wait} s.",
                            status=status.HTTP_429_TOO_MANY_REQUESTS,
                            content_type="text/plain", headers={"Retry-After": str(wait)})
    response = form()
    username = request.POST.get("username", "")
    if response.status_code == status.HTTP_200_OK:  # the form again: the login failed
        security_event_record(action=AuditAction.LOGIN_FAILED, object_repr=f"{where}: {username}")
    elif request.user.is_authenticated:
        audit_record(actor=request.user, action=AuditAction.LOGIN, object_type="user",
                     object_id=request.user.pk, object_repr=f"{where}: {username}")
    return response


def _tokens(refresh: RefreshToken) -> dict:
    access = refresh.access_token
    return {
        "token": str(access),
        "refresh": str(refresh),
        "expires": datetime.fromtimestamp(access["exp"], tz=UTC),
    }


class LoginApi(APIView):
    """Exchange a username (or email) and password for an access and a refresh token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    class LoginInputSerializer(serializers.Serializer):
        username = serializers.CharField(required=False)
        email = serializers.EmailField(required=False)
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

        def validate(self, attrs: dict) -> dict:
            if not attrs.get("username") and not attrs.get("email"):
                raise serializers.ValidationError({"username": ["Give a username or an email."]})
            return attrs

    @extend_schema(
        tags=["auth"], request=LoginInputSerializer,
        responses={200: LoginOutputSerializer, **error_responses(400, 401, 429)},
    )
    def post(self, request):
        data = self.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data.get("username")
        if not username:
            match = get_user_model().objects.filter(
                email__iexact=data.validated_data["email"]
            ).first()
            username = match.get_username() if match else None
        user = (
            authenticate(request, username=username, password=data.validated_data["password"])
            if username
            else None
        )
        if user is None:
            security_event_record(
                action=AuditAction.LOGIN_FAILED,
                object_repr=username or data.validated_data.get("email", ""),
            )
            raise ApplicationError(
                "Unknown user or wrong password.",
                code=ErrorCode.AUTHENTICATION_FAILED,
                status_code=status.HTTP_401_UNAUTHORIZED,
            )
        audit_record(
            actor=user, action=AuditAction.LOGIN, object_type="user", object_id=user.pk,
            object_repr=user.get_username(),
        )
        body = {**_tokens(tokens_issue(user=user)), "user": user}
        return Response(LoginOutputSerializer(body).data)


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class RefreshApi(APIView):
    """Exchange a refresh token for a new access token and a new refresh token; the old
    refresh token is spent (of concurrent uses of one token, one succeeds)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        tags=["auth"], request=RefreshInputSerializer,
        responses={200: TokenSerializer, **error_responses(400, 401, 429)},
    )
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _, refresh = refresh_token_rotate(raw=data.validated_data["refresh"])
        return Response(TokenSerializer(_tokens(refresh)).data)


class LogoutApi(APIView):
    """Revoke a refresh token: it can no longer be refreshed; the access tokens issued with
    it run out on their own (JWT_ACCESS_LIFETIME)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        tags=["auth"], request=RefreshInputSerializer,
        responses={204: None, **error_responses(400, 401, 429)},
    )
    def post(self, request):
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refresh_token_revoke(raw=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """The authenticated user and the workflow permissions they hold."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], responses={200: UserSerializer, **error_responses(401, 429)})
    def get(self, request):
        return Response(UserSerializer(request.user).data)
