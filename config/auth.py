"""Authentication API: JWT login, refresh and the current user."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import authenticate, get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from config.errors import ApplicationError, ErrorCode
from config.openapi import error_responses
from monitoring.models import AuditAction
from monitoring.services import audit_record

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
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

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
            audit_record(
                actor=None, action=AuditAction.LOGIN_FAILED, object_type="user",
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
        body = {**_tokens(RefreshToken.for_user(user)), "user": user}
        return Response(LoginOutputSerializer(body).data)


class RefreshApi(APIView):
    """Exchange a refresh token for a new access token (and a new refresh token)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    class RefreshInputSerializer(serializers.Serializer):
        refresh = serializers.CharField()

    @extend_schema(
        tags=["auth"], request=RefreshInputSerializer,
        responses={200: TokenSerializer, **error_responses(400, 401, 429)},
    )
    def post(self, request):
        data = self.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            old = RefreshToken(data.validated_data["refresh"])
            user = get_user_model().objects.filter(pk=old["user_id"], is_active=True).first()
            if user is None:
                raise TokenError("The token's user is gone or inactive.")
            old.blacklist()
        except TokenError as exc:
            raise ApplicationError(
                f"The refresh token is not valid: {exc}",
                code=ErrorCode.AUTHENTICATION_FAILED,
                status_code=status.HTTP_401_UNAUTHORIZED,
            ) from None
        return Response(TokenSerializer(_tokens(RefreshToken.for_user(user))).data)


class MeApi(APIView):
    """The authenticated user and the workflow permissions they hold."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], responses={200: UserSerializer, **error_responses(401, 429)})
    def get(self, request):
        return Response(UserSerializer(request.user).data)
