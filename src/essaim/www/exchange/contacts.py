"""Putting structures in touch (« Entrer en relation »), conversations of match records, facilitators'
introductions, outcomes of closed listings and the statistics per territory.

Conversations answer 404 to anyone but the members of both structures and the facilitators.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from essaim.actors.models import Membership, Structure
from essaim.core.access import deny_unless, get_object_or_404_for
from essaim.core.site import request_site_url
from essaim.exchange import contacts, outcomes
from essaim.exchange.access import (
    contact_structures_for,
    exchange_stats_can_view,
    listing_can_introduce,
    listing_can_record_outcome,
    listing_can_view,
    match_can_act,
    match_can_view,
)
from essaim.exchange.matching import listing_suggestions
from essaim.exchange.models import MATCH_TRANSITIONS, Listing, Match, MatchStatus, Outcome, OutcomeKind
from essaim.territories.models import Perimeter

ALL_TERRITORIES = "tous"
PAGE_SIZE = 30


# -- Forms ---------------------------------------------------------------------------------------------------


def _message_field(label: str = "Votre message") -> forms.CharField:
    return forms.CharField(
        label=label,
        min_length=contacts.MESSAGE_MIN_LENGTH,
        max_length=contacts.MESSAGE_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=f"Texte simple, {contacts.MESSAGE_MAX_LENGTH} caractères au plus.",
        error_messages={
            "required": "Écrivez votre message.",
            "min_length": f"Écrivez un message d'au moins {contacts.MESSAGE_MIN_LENGTH} caractères.",
            "max_length": f"Le message ne peut dépasser {contacts.MESSAGE_MAX_LENGTH} caractères.",
        },
    )


class ContactForm(forms.Form):
    """The first message to a listing's structure, in the name of one of the writer's structures."""

    structure = forms.TypedChoiceField(label="Au nom de la structure", coerce=int)
    body = _message_field()

    def __init__(self, *args, structures, **kwargs):
        super().__init__(*args, **kwargs)
        self.structures = {s.pk: s for s in structures}
        self.fields["structure"].choices = [(s.pk, s.name) for s in structures]
        if len(structures) == 1:
            self.fields["structure"].initial = structures[0].pk
            self.fields["structure"].widget = forms.HiddenInput()

    def chosen_structure(self) -> Structure:
        return self.structures[self.cleaned_data["structure"]]


FACILITATION = "animation"


class ReplyForm(forms.Form):
    structure = forms.ChoiceField(label="Au nom de")
    body = _message_field("Répondre")

    def __init__(self, *args, sides, facilitator: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.sides = {str(s.pk): s for s in sides}
        choices = [(str(s.pk), s.name) for s in sides]
        if facilitator:
            choices.append((FACILITATION, "L'équipe d'animation"))
        self.fields["structure"].choices = choices
        if len(choices) == 1:
            self.fields["structure"].initial = choices[0][0]
            self.fields["structure"].widget = forms.HiddenInput()

    def chosen_structure(self) -> Structure | None:
        return self.sides.get(self.cleaned_data["structure"])


class MatchStatusForm(forms.Form):
    status = forms.ChoiceField(label="Nouvel état", error_messages={"required": "Choisissez le nouvel état."})
    reason = forms.CharField(
        label="Motif (obligatoire pour décliner)",
        max_length=contacts.REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, match: Match, **kwargs):
        super().__init__(*args, **kwargs)
        following = MATCH_TRANSITIONS[match.status]
        self.fields["status"].choices = [(s.value, s.label) for s in MatchStatus if s in following]

    def clean(self):
        data = super().clean()
        if data.get("status") == MatchStatus.DECLINED and not data.get("reason"):
            self.add_error("reason", "Indiquez le motif du refus.")
        return data


class IntroductionForm(forms.Form):
    counterpart = forms.TypedChoiceField(
        label="Annonce à présenter",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez l'annonce à présenter."},
    )
    body = _message_field("Votre mot d'introduction")

    def __init__(self, *args, suggestions, **kwargs):
        super().__init__(*args, **kwargs)
        self.listings = {s.listing.pk: s.listing for s in suggestions}
        self.fields["counterpart"].choices = [
            (s.listing.pk, f"{s.listing.title} — {s.listing.structure.name} ({' ; '.join(s.reasons)})")
            for s in suggestions
        ]


class OutcomeForm(forms.Form):
    kind = forms.ChoiceField(
        label="Qu'est-il ressorti de cette annonce ?",
        choices=OutcomeKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez ce qu'il est ressorti de l'annonce."},
    )
    amount_euros = forms.IntegerField(
        label="Montant estimé (en euros, facultatif)",
        min_value=0,
        max_value=100_000_000,
        required=False,
        error_messages={"invalid": "Saisissez un nombre entier d'euros."},
    )
    hours = forms.IntegerField(
        label="Heures estimées (facultatif)",
        min_value=0,
        max_value=1_000_000,
        required=False,
        error_messages={"invalid": "Saisissez un nombre entier d'heures."},
    )
    counterpart_structure = forms.ModelChoiceField(
        label="Structure partenaire (facultatif)",
        queryset=Structure.objects.none(),
        required=False,
        empty_label="Aucune",
    )

    def __init__(self, *args, listing: Listing, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["counterpart_structure"].queryset = outcomes.outcome_counterparts(listing)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _rate_limited(request) -> bool:
    """Contact messages per account (ESSAIM_CONTACT_RATE), first messages and replies together."""
    return is_ratelimited(
        request,
        group="exchange:contact",
        key="user",
        rate=settings.ESSAIM_CONTACT_RATE,
        method="POST",
        increment=True,
    )


def _too_many(request):
    message = (
        "Vous avez envoyé beaucoup de messages de mise en relation en peu de temps. "
        "Par précaution contre les abus, l'envoi de messages vous est temporairement impossible."
    )
    return render(request, "accounts/rate_limited.html", {"rate_limit_message": message}, status=429)


# -- « Entrer en relation » and the conversation -------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def contact_start(request, pk: int):
    """A member writes to the structure of a published listing, in the name of one of their structures."""
    listing = get_object_or_404_for(
        request.user, Listing.objects.select_related("structure"), listing_can_view, pk=pk
    )
    structures = contact_structures_for(request.user, listing)
    deny_unless(bool(structures))
    form = ContactForm(request.POST or None, structures=structures)
    if request.method == "POST":
        if _rate_limited(request):
            return _too_many(request)
        if form.is_valid():
            try:
                match, _ = contacts.contact_send(
                    listing=listing,
                    sender_structure=form.chosen_structure(),
                    actor=request.user,
                    body=form.cleaned_data["body"],
                    site_url=request_site_url(request),
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Message envoyé à {listing.structure.name}. Vous serez prévenu·e par courriel "
                    "de sa réponse.",
                )
                return redirect("exchange:match_detail", pk=match.pk)
    return render(request, "exchange/contact_form.html", {"listing": listing, "form": form})


def _match_or_404(request, pk: int) -> Match:
    return get_object_or_404_for(
        request.user,
        Match.objects.select_related(
            "listing__structure",
            "counterpart_listing__structure",
            "listing_structure",
            "counterpart_structure",
            "broker",
            "initiator_structure",
        ),
        match_can_view,
        pk=pk,
    )


def _user_sides(user, match: Match) -> list[Structure]:
    ids = set(
        Membership.objects.filter(user=user, structure_id__in=match.structure_ids()).values_list(
            "structure_id", flat=True
        )
    )
    return [s for s in (match.listing_structure, match.counterpart_structure) if s.pk in ids]


def _detail_context(request, match: Match, *, reply_form=None, status_form=None) -> dict:
    sides = _user_sides(request.user, match)
    facilitator = bool(getattr(request.user, "is_facilitator", False))
    conversation = [
        {"message": message, "email": contacts.visible_email(match, message, request.user)}
        for message in match.messages.select_related("author", "author_structure")
    ]
    can_act = match_can_act(request.user, match)
    return {
        "match": match,
        "conversation": conversation,
        "can_act": can_act,
        "reply_form": reply_form
        or (ReplyForm(sides=sides, facilitator=facilitator) if can_act and match.is_open else None),
        "status_form": status_form or (MatchStatusForm(match=match) if can_act and match.is_open else None),
    }


@login_required
def match_detail(request, pk: int):
    """The conversation of a match record, its state and the forms to answer and move it."""
    match = _match_or_404(request, pk)
    return render(request, "exchange/match_detail.html", _detail_context(request, match))


@login_required
@require_POST
def match_reply(request, pk: int):
    match = _match_or_404(request, pk)
    deny_unless(match_can_act(request.user, match))
    if _rate_limited(request):
        return _too_many(request)
    form = ReplyForm(
        request.POST,
        sides=_user_sides(request.user, match),
        facilitator=bool(getattr(request.user, "is_facilitator", False)),
    )
    if form.is_valid():
        try:
            contacts.match_reply(
                match=match,
                actor=request.user,
                author_structure=form.chosen_structure(),
                body=form.cleaned_data["body"],
                site_url=request_site_url(request),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Message envoyé.")
            return redirect("exchange:match_detail", pk=match.pk)
    match.refresh_from_db()
    return render(request, "exchange/match_detail.html", _detail_context(request, match, reply_form=form))


STATUS_MESSAGES = {
    MatchStatus.DISCUSSING: "La mise en relation est en discussion.",
    MatchStatus.AGREED: "Accord enregistré.",
    MatchStatus.DONE: "Mise en relation réalisée : merci de l'avoir indiqué.",
    MatchStatus.DECLINED: "Mise en relation déclinée.",
}


@login_required
@require_POST
def match_status(request, pk: int):
    """Either side (or a facilitator) moves the match: in discussion, agreed, done, declined with a reason."""
    match = _match_or_404(request, pk)
    deny_unless(match_can_act(request.user, match))
    form = MatchStatusForm(request.POST, match=match)
    if form.is_valid():
        try:
            match = contacts.match_transition(
                match=match,
                status=form.cleaned_data["status"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, STATUS_MESSAGES.get(match.status, "État enregistré."))
            return redirect("exchange:match_detail", pk=match.pk)
    return render(
        request, "exchange/match_detail.html", _detail_context(request, match, status_form=form), status=400
    )


@login_required
def match_list(request):
    """The match records of the user's structures (every one for a facilitator), most recent first."""
    matches = Match.objects.select_related(
        "listing", "listing_structure", "counterpart_structure", "counterpart_listing"
    )
    facilitator = bool(getattr(request.user, "is_facilitator", False))
    if not facilitator:
        ids = list(Membership.objects.filter(user=request.user).values_list("structure_id", flat=True))
        matches = matches.involving(ids)
    status = request.GET.get("etat", "")
    if status in MatchStatus.values:
        matches = matches.filter(status=status)
    page = Paginator(matches.order_by("-updated_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "exchange/match_list.html",
        {"page": page, "status": status, "statuses": MatchStatus.choices, "facilitator": facilitator},
    )


# -- Facilitators' introductions -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def match_introduce(request, pk: int):
    """A facilitator picks one of the listing's suggestions and introduces both structures by email."""
    listing = get_object_or_404_for(
        request.user, Listing.objects.select_related("structure"), listing_can_introduce, pk=pk
    )
    suggestions = listing_suggestions(listing=listing)
    form = IntroductionForm(request.POST or None, suggestions=suggestions)
    if request.method == "POST" and form.is_valid():
        try:
            match = contacts.match_introduce(
                listing=listing,
                counterpart_listing=form.listings[form.cleaned_data["counterpart"]],
                broker=request.user,
                body=form.cleaned_data["body"],
                site_url=request_site_url(request),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Présentation envoyée aux deux structures.")
            return redirect("exchange:match_detail", pk=match.pk)
    return render(
        request,
        "exchange/match_introduce.html",
        {"listing": listing, "form": form, "suggestions": suggestions},
    )


# -- Outcomes and statistics ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def outcome_record(request, pk: int):
    """The poster of a closed listing tells what came of it."""
    listing = get_object_or_404_for(
        request.user, Listing.objects.select_related("structure"), listing_can_record_outcome, pk=pk
    )
    existing = Outcome.objects.filter(listing=listing).first()
    initial = {}
    if existing is not None:
        initial = {
            "kind": existing.kind,
            "amount_euros": existing.amount_euros,
            "hours": existing.hours,
            "counterpart_structure": existing.counterpart_structure_id,
        }
    form = OutcomeForm(request.POST or None, listing=listing, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            outcomes.outcome_record(listing=listing, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Merci : le résultat de l'annonce est enregistré.")
            return redirect("exchange:detail", pk=listing.pk)
    return render(request, "exchange/outcome_form.html", {"listing": listing, "form": form})


@login_required
def outcome_stats(request):
    """Facilitators: listings by kind and state, match records by state, outcomes with amounts and hours,
    for one territory (the home perimeter by default) or everywhere."""
    deny_unless(exchange_stats_can_view(request.user))
    perimeters = list(Perimeter.objects.order_by("-is_home", "name"))
    slug = request.GET.get("territoire") or next((p.slug for p in perimeters if p.is_home), ALL_TERRITORIES)
    perimeter = next((p for p in perimeters if p.slug == slug), None)
    if perimeter is None:
        slug = ALL_TERRITORIES
    stats = outcomes.outcome_stats(perimeter=perimeter)
    return render(
        request,
        "exchange/outcome_stats.html",
        {"stats": stats, "perimeters": perimeters, "perimeter": perimeter, "selected": slug},
    )


# -- Digest opt-out ------------------------------------------------------------------------------------------


# Mail clients send the RFC 8058 one-click unsubscribe as a bare POST without a CSRF token; the signed token
# in the URL is what authorises it, and unsubscribing harms nobody.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def match_digest_unsubscribe(request, token: str):
    """GET: a button; POST: no more emails of new suggestions for the person the signed link designates."""
    user = contacts.digest_unsubscribe_user(token)
    if user is None:
        return render(request, "exchange/match_digest_unsubscribe.html", {"invalid": True}, status=400)
    done = False
    if request.method == "POST":
        contacts.match_digest_opt_out(user=user)
        done = True
    response = render(request, "exchange/match_digest_unsubscribe.html", {"invalid": False, "done": done})
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
