"""The chat's pages: the subscriber's chat panel and the agent console (role ``agent``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from asgiref.sync import async_to_sync
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal import accounts
from portal.chat import canned, context_client, selectors, services, transcript
from portal.chat.bridge import sender_id
from portal.chat.consumers import agent_name, is_agent
from portal.chat.errors import AlreadyTaken, BotUnavailable, ConversationNotFound, NotTheOwner
from portal.chat.rasa_client import rasa_client
from portal.htmx import HtmxHttpRequest
from portal.identity_client import IdentityUser
from portal.views import signin_required

View = TypeVar("View", bound=Callable[..., HttpResponse])


def agent_required(view: View) -> View:
    """Signed in (else sign-in) with the agent role (else 403)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = accounts.signed_in_user(request)
        if user is None or not is_agent(user.to_dict()):
            raise PermissionDenied("the agent console is for support agents")
        return view(request, *args, **kwargs)

    return cast(View, signin_required(wrapper))


def _user(request: HttpRequest) -> IdentityUser:
    user = accounts.signed_in_user(request)
    assert user is not None  # the decorators let only signed-in users through
    return user


def _conversation(conversation_id: int) -> Any:
    try:
        return selectors.conversation_get(conversation_id=conversation_id)
    except ConversationNotFound:
        raise Http404("no such conversation") from None


def _result(request: HttpRequest, text: str, *, status: int = 200) -> HttpResponse:
    return render(request, "chat/action_result.html", {"text": text, "error": status >= 400}, status=status)


@require_GET
@signin_required
def panel(request: HtmxHttpRequest) -> HttpResponse:
    """The subscriber's chat panel (their conversation, created on first use)."""
    user = _user(request)
    if user.client_id is None:
        raise PermissionDenied("the chat is for subscribers")
    conversation = services.conversation_open(
        user_id=user.id,
        client_id=user.client_id,
        name=user.full_name,
        email=user.email,
        language=get_language() or "es",
        now=timezone.now(),
    )
    context = {
        "viewer": "subscriber",
        "conversation": conversation,
        "socket_url": f"/ws/chat/{conversation.pk}/",
    }
    return render(request, "chat/panel.html", context)


@require_GET
@agent_required
def agent_console(request: HttpRequest) -> HttpResponse:
    """The live queue, with waiting times, and the agent's conversations."""
    queue = selectors.queue_list(now=timezone.now(), agent_id=_user(request).id)
    return render(request, "chat/agent_console.html", {"queue": queue})


@require_GET
@agent_required
def agent_queue(request: HttpRequest) -> HttpResponse:
    queue = selectors.queue_list(now=timezone.now(), agent_id=_user(request).id)
    return render(request, "chat/agent_queue.html", {"queue": queue})


@require_GET
@agent_required
def agent_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """One conversation: the live chat, the subscriber's context, canned responses, actions."""
    conversation = _conversation(conversation_id)
    context = {
        "viewer": "agent",
        "conversation": conversation,
        "socket_url": f"/ws/agent/chat/{conversation.pk}/",
        "canned": canned.canned_responses(conversation.language),
    }
    return render(request, "chat/agent_conversation.html", context)


@require_GET
@agent_required
def agent_context(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(conversation_id)
    parts = accounts.with_access_token(
        request,
        lambda token: context_client.subscriber_context(client_id=conversation.client_id, token=token),
    )
    return render(
        request, "chat/agent_context.html", {"conversation": conversation, "context": {"parts": parts}}
    )


@require_POST
@agent_required
def agent_take_over(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Takes the conversation over; 409 naming the owner when another agent was first."""
    user = _user(request)
    _conversation(conversation_id)
    try:
        services.conversation_take_over(
            conversation_id=conversation_id,
            agent_id=user.id,
            agent_name=agent_name(user.to_dict()),
            now=timezone.now(),
        )
    except AlreadyTaken as exc:
        return _result(
            request, _("%(name)s already has this conversation.") % {"name": exc.owner_name}, status=409
        )
    return _result(request, _("The conversation is yours. The bot will not answer while you have it."))


@require_POST
@agent_required
def agent_hand_back(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Gives the conversation back to the bot: Rasa resumes listening first, then the bot owns it."""
    user = _user(request)
    conversation = _conversation(conversation_id)
    if conversation.owner_agent_id != user.id:
        return _result(request, _("Only the agent who has the conversation can hand it back."), status=409)
    try:
        async_to_sync(rasa_client().resume)(sender_id=sender_id(conversation_id))
    except BotUnavailable:
        return _result(
            request, _("The bot is not available right now; keep the conversation for now."), status=502
        )
    try:
        services.conversation_hand_back(conversation_id=conversation_id, agent_id=user.id, now=timezone.now())
    except NotTheOwner:
        return _result(request, _("Only the agent who has the conversation can hand it back."), status=409)
    return _result(request, _("The bot has the conversation again."))


@require_POST
@agent_required
def agent_resolve(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Resolves the agent's conversation; the subscriber is asked for a rating."""
    _conversation(conversation_id)
    try:
        services.conversation_resolve(
            conversation_id=conversation_id, agent_id=_user(request).id, now=timezone.now()
        )
    except NotTheOwner:
        return _result(request, _("Only the agent who has the conversation can resolve it."), status=409)
    return _result(request, _("Resolved. The subscriber was asked to rate the conversation."))


@require_POST
@agent_required
def agent_transcript(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """E-mails the transcript (to the subscriber's address unless another is given)."""
    conversation = _conversation(conversation_id)
    to = (request.POST.get("email") or conversation.subscriber_email).strip()
    try:
        validate_email(to)
    except ValidationError:
        return _result(request, _("Enter a valid e-mail address."), status=422)
    transcript.transcript_email(conversation_id=conversation_id, to=to)
    return _result(request, _("The transcript was sent to %(email)s.") % {"email": to})
