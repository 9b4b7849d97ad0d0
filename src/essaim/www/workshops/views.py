"""Participatory workshops: voting page (phone first), room display, facilitation pages, synthesis."""

import io

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_ratelimit.core import is_ratelimited

from essaim.accounts.lockout import client_ip_key
from essaim.core.access import deny_unless
from essaim.events.access import event_can_view
from essaim.workshops import services
from essaim.workshops.access import (
    can_create_consultation,
    consultation_for,
    group_can_report,
    permissions_for,
    remember_participant,
)
from essaim.workshops.models import (
    Colour,
    Comment,
    CommentState,
    Consultation,
    ItemStatus,
    Phase,
    WorkingGroup,
)
from essaim.workshops.synthesis import (
    export_filename,
    synthesis_build,
    synthesis_markdown,
    synthesis_pdf,
    synthesis_xlsx,
)
from essaim.www.workshops.forms import (
    CommentForm,
    ConsultationForm,
    GroupForm,
    ItemForm,
    ModerateItemForm,
    PaperTallyForm,
    ProposalForm,
    ProposeItemForm,
    RoomCodeForm,
    RoomCodesForm,
)

ROOM_COMMENTS = 6


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _actor(request):
    return request.user if request.user.is_authenticated else None


def _detail(consultation: Consultation, anchor: str = "") -> str:
    return reverse("workshops:detail", args=[consultation.slug]) + (f"#{anchor}" if anchor else "")


# --- Listing and voting ---------------------------------------------------------------------------------


def consultation_list(request):
    """Open, closed and published consultations; facilitators also see the ones they prepare."""
    public = Consultation.objects.public()
    managed = Consultation.objects.managed_by(request.user)
    consultations = (public | managed).distinct().select_related("structure").order_by("-created_at")
    return render(
        request,
        "workshops/consultation_list.html",
        {"consultations": consultations, "can_create": can_create_consultation(request.user)},
    )


def _item_context(consultation, visitor, items, *, budget=None):
    participant = visitor.participant
    mine = set()
    if participant is not None:
        mine = set(participant.votes.values_list("item_id", "colour"))
    comments = {}
    for comment in Comment.objects.visible().filter(item__in=items).order_by("created_at", "pk"):
        comments.setdefault(comment.item_id, []).append(comment)
    for item in items:
        item.my_green = (item.pk, Colour.GREEN) in mine
        item.my_red = (item.pk, Colour.RED) in mine
        item.visible_comments = comments.get(item.pk, [])
    if budget is None:
        budget = services.budget_for(consultation=consultation, participant=participant)
    return budget


def _reported_groups(consultation, visitor) -> list:
    """The working groups ``visitor`` reports for, while groups work (links to their proposals page)."""
    if visitor.participant is None or consultation.phase not in (Phase.OPEN, Phase.CLOSED):
        return []
    return list(consultation.groups.filter(rapporteur=visitor.participant))


def consultation_detail(request, slug: str):
    """The participants' page: the items with green/red toggles, post-its and the proposal form."""
    consultation, visitor = consultation_for(request, slug)
    perms = permissions_for(visitor, consultation)
    items = list(consultation.items.votable().select_related("parent").in_order())
    budget = _item_context(consultation, visitor, items)
    context = {
        "consultation": consultation,
        "perms": perms,
        "items": items,
        "budget": budget,
        "visitor": visitor,
        "code_form": RoomCodeForm(),
        "comment_form": CommentForm(),
        "propose_form": ProposeItemForm(),
        "reported_groups": _reported_groups(consultation, visitor),
        # The linked agenda event, only for someone allowed to see it (a draft event stays hidden).
        "event": consultation.event if event_can_view(request.user, consultation.event) else None,
    }
    return render(request, "workshops/consultation_detail.html", context)


# Wrong room codes per client address: a whole room may share one address (venue wifi), so only failures
# count, which keeps guessing codes out of reach without blocking a room of people typing valid ones.
ROOM_CODE_FAILURE_RATE = "30/10m"


def _code_failures(request, *, increment: bool) -> bool:
    return is_ratelimited(
        request,
        group="workshops:room_code",
        key=client_ip_key,
        rate=ROOM_CODE_FAILURE_RATE,
        method="POST",
        increment=increment,
    )


@require_POST
def room_code_enter(request, slug: str):
    """Take part anonymously with a one-time room code (kept in this browser's session)."""
    consultation, _ = consultation_for(request, slug, "view")
    form = RoomCodeForm(request.POST)
    if consultation.phase != Phase.OPEN:
        messages.error(request, "La consultation n'est pas ouverte.")
    elif _code_failures(request, increment=False):
        messages.error(
            request, "Trop de codes erronés depuis cette connexion : réessayez dans quelques minutes."
        )
    elif form.is_valid():
        try:
            participant = services.room_code_claim(consultation=consultation, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _code_failures(request, increment=True)
            messages.error(request, _errors(exc))
        else:
            request.session.cycle_key()
            remember_participant(request, participant)
            messages.success(request, "Code accepté : vous pouvez voter.")
    else:
        messages.error(request, "Saisissez le code de salle.")
    return redirect(_detail(consultation))


def _participant(request, consultation, visitor):
    if visitor.participant is not None:
        return visitor.participant
    return services.participant_for_user(consultation=consultation, user=request.user)


@require_POST
@vary_on_headers("HX-Request")
def vote(request, slug: str, item_id: int):
    """Toggle one green or red dot on an item. HTMX gets the item's card back (with the budget), plain
    forms a redirect to the item."""
    consultation, visitor = consultation_for(request, slug, "vote")
    item = get_object_or_404(consultation.items.votable(), pk=item_id)
    colour = request.POST.get("colour")
    error = ""
    if colour not in Colour.values:
        error = "Couleur de gommette inconnue."
    else:
        participant = _participant(request, consultation, visitor)
        visitor.participant = participant
        try:
            services.vote_toggle(participant=participant, item=item, colour=colour, actor=_actor(request))
        except ValidationError as exc:
            error = _errors(exc)
    if request.htmx:
        budget = _item_context(consultation, visitor, [item])
        context = {
            "consultation": consultation,
            "item": item,
            "budget": budget,
            "perms": permissions_for(visitor, consultation),
            "comment_form": CommentForm(),
            "error": error,
            "oob_budget": True,
        }
        return render(request, "workshops/_item_card.html", context)
    if error:
        messages.error(request, error)
    return redirect(_detail(consultation, f"besoin-{item.pk}"))


@require_POST
def comment_post(request, slug: str, item_id: int):
    consultation, visitor = consultation_for(request, slug, "comment")
    item = get_object_or_404(consultation.items.votable(), pk=item_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.comment_post(
                item=item,
                participant=_participant(request, consultation, visitor),
                text=form.cleaned_data["text"],
                category=form.cleaned_data["category"],
                actor=_actor(request),
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            if comment.state == CommentState.PENDING:
                messages.success(request, "Merci ! Votre post-it sera affiché après relecture.")
            else:
                messages.success(request, "Merci ! Votre post-it est affiché.")
    else:
        messages.error(request, "Le post-it est vide ou trop long (1 000 caractères au plus).")
    return redirect(_detail(consultation, f"besoin-{item.pk}"))


@require_POST
def item_propose(request, slug: str):
    consultation, visitor = consultation_for(request, slug, "propose_item")
    form = ProposeItemForm(request.POST)
    if form.is_valid():
        try:
            services.item_propose(
                consultation=consultation,
                participant=_participant(request, consultation, visitor),
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                actor=_actor(request),
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, "Merci ! Votre proposition sera examinée par l'animation.")
    else:
        messages.error(request, "Donnez un intitulé au besoin proposé (255 caractères au plus).")
    return redirect(_detail(consultation, "proposer"))


# --- Room display -------------------------------------------------------------------------------------


def _room_rows(consultation):
    items = list(consultation.items.votable().with_totals().in_order())
    top = max(
        [1] + [i.green_online + i.green_paper for i in items] + [i.red_online + i.red_paper for i in items]
    )
    for item in items:
        item.green = item.green_online + item.green_paper
        item.red = item.red_online + item.red_paper
        # Bar lengths as percentages of the largest count, drawn as SVG widths (no style attribute).
        item.green_pct = round(100 * item.green / top)
        item.red_pct = round(100 * item.red / top)
    return items


@vary_on_headers("HX-Request")
def room(request, slug: str):
    """The projector view: dot counts (online + paper) and the newest post-its, polled every second by
    htmx (the partial costs two queries)."""
    consultation, _ = consultation_for(request, slug, "view")
    context = {
        "consultation": consultation,
        "items": _room_rows(consultation),
        "comments": list(
            Comment.objects.visible()
            .filter(item__consultation=consultation)
            .select_related("item")
            .newest_first()[:ROOM_COMMENTS]
        ),
    }
    if request.htmx:
        return render(request, "workshops/_room_live.html", context)
    context["vote_url"] = request.build_absolute_uri(_detail(consultation))
    return render(request, "workshops/room.html", context)


@require_GET
def qr_code(request, slug: str):
    """The QR code of the voting page, as an SVG image."""
    consultation, _ = consultation_for(request, slug, "view")
    qr = segno.make(request.build_absolute_uri(_detail(consultation)), error="m")
    buffer = io.BytesIO()
    # A standalone SVG document (with its namespace) for an <img>; colours as attributes, no style.
    qr.save(buffer, kind="svg", scale=8, border=2, dark="#000", light="#fff", xmldecl=False, svgns=True)
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=3600"
    return response


# --- Synthesis ----------------------------------------------------------------------------------------


def synthesis(request, slug: str):
    """The synthesis: public once published, a preview for the facilitator before that."""
    consultation, _ = consultation_for(request, slug, "view_synthesis")
    return render(
        request,
        "workshops/synthesis.html",
        {
            "consultation": consultation,
            "synthesis": synthesis_build(consultation),
            "published": consultation.phase == Phase.PUBLISHED,
        },
    )


EXPORTS = {
    "md": ("text/markdown; charset=utf-8", lambda s: synthesis_markdown(s).encode()),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", synthesis_xlsx),
    "pdf": ("application/pdf", synthesis_pdf),
}


@require_GET
def synthesis_export(request, slug: str, fmt: str):
    if fmt not in EXPORTS:
        raise Http404("Format d'export inconnu.")
    consultation, _ = consultation_for(request, slug, "view_synthesis")
    content_type, build = EXPORTS[fmt]
    response = HttpResponse(build(synthesis_build(consultation)), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{export_filename(consultation, fmt)}"'
    return response


# --- Facilitation -------------------------------------------------------------------------------------


def consultation_create(request):
    deny_unless(can_create_consultation(request.user))
    form = ConsultationForm(request.POST or None, initial={"red_limit": 2})
    if request.method == "POST" and form.is_valid():
        try:
            consultation = services.consultation_create(
                owner=request.user, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Consultation créée : ajoutez maintenant les besoins.")
            return redirect("workshops:manage", consultation.slug)
    return render(request, "workshops/consultation_form.html", {"form": form, "consultation": None})


def consultation_edit(request, slug: str):
    consultation, _ = consultation_for(request, slug, "manage")
    initial = {name: getattr(consultation, name) for name in ConsultationForm.base_fields if name != "slug"}
    form = ConsultationForm(
        request.POST or None, initial=initial, editing=True, current_event=consultation.event
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.consultation_update(consultation=consultation, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Consultation enregistrée.")
            return redirect("workshops:manage", consultation.slug)
    return render(request, "workshops/consultation_form.html", {"form": form, "consultation": consultation})


NEXT_PHASE = {
    Phase.PREPARATION: (Phase.OPEN, "Ouvrir les votes et les commentaires"),
    Phase.OPEN: (Phase.CLOSED, "Clore la consultation"),
    Phase.CLOSED: (Phase.PUBLISHED, "Publier la synthèse"),
}


def manage(request, slug: str):
    """The facilitator's dashboard: phase, items, room codes, links to the other facilitation pages."""
    consultation, visitor = consultation_for(request, slug, "manage")
    perms = permissions_for(visitor, consultation)
    if request.method == "POST":
        deny_unless(perms["manage_items"])
        form = ItemForm(request.POST)
        if form.is_valid():
            try:
                services.item_create(consultation=consultation, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Besoin ajouté.")
                return redirect("workshops:manage", consultation.slug)
    else:
        form = ItemForm()
    items = list(
        consultation.items.exclude(status__in=[ItemStatus.MERGED, ItemStatus.REJECTED])
        .select_related("parent")
        .in_order()
    )
    codes = consultation.participants.room_codes()
    context = {
        "consultation": consultation,
        "perms": perms,
        "items": items,
        "item_form": form,
        "next_phase": NEXT_PHASE.get(consultation.phase),
        "codes_form": RoomCodesForm(),
        "codes_total": codes.count(),
        "codes_used": codes.filter(claimed_at__isnull=False).count(),
        "pending_items": consultation.items.filter(status=ItemStatus.PROPOSED).count(),
        "pending_comments": Comment.objects.filter(
            item__consultation=consultation, state=CommentState.PENDING
        ).count(),
    }
    return render(request, "workshops/manage.html", context)


def item_edit(request, slug: str, item_id: int):
    consultation, _ = consultation_for(request, slug, "manage_items")
    item = get_object_or_404(consultation.items, pk=item_id)
    form = ItemForm(
        request.POST or None,
        initial={"title": item.title, "description": item.description, "order": item.order},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.item_update(item=item, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Besoin enregistré.")
            return redirect("workshops:manage", consultation.slug)
    return render(
        request, "workshops/item_form.html", {"consultation": consultation, "item": item, "form": form}
    )


@require_POST
def phase_change(request, slug: str):
    consultation, _ = consultation_for(request, slug, "change_phase")
    try:
        services.consultation_set_phase(
            consultation=consultation, phase=request.POST.get("phase", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"Phase : {consultation.get_phase_display()}.")
    return redirect("workshops:manage", consultation.slug)


def room_codes(request, slug: str):
    """Create one-time room codes (POST) and list them to print and cut out (GET)."""
    consultation, _ = consultation_for(request, slug, "manage")
    if request.method == "POST":
        form = RoomCodesForm(request.POST)
        if form.is_valid():
            try:
                services.room_codes_generate(
                    consultation=consultation, count=form.cleaned_data["count"], actor=request.user
                )
            except ValidationError as exc:
                messages.error(request, _errors(exc))
            else:
                messages.success(request, f"{form.cleaned_data['count']} code(s) créé(s).")
        else:
            messages.error(request, "Indiquez un nombre de codes entre 1 et 500.")
        return redirect("workshops:codes", consultation.slug)
    codes = consultation.participants.room_codes().order_by("pk")
    return render(
        request,
        "workshops/room_codes.html",
        {"consultation": consultation, "codes": codes, "form": RoomCodesForm()},
    )


def paper_entry(request, slug: str):
    """Counts per item from the paper boards ("saisie papier")."""
    consultation, _ = consultation_for(request, slug, "enter_paper")
    items = list(consultation.items.votable().select_related("paper_tally").in_order())
    form = PaperTallyForm(request.POST or None, items=items)
    if request.method == "POST" and form.is_valid():
        try:
            for item in items:
                services.paper_tally_set(
                    item=item,
                    green=form.cleaned_data[f"green_{item.pk}"],
                    red=form.cleaned_data[f"red_{item.pk}"],
                    actor=request.user,
                )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, "Saisie papier enregistrée.")
            return redirect("workshops:manage", consultation.slug)
    return render(request, "workshops/paper_entry.html", {"consultation": consultation, "form": form})


def moderation(request, slug: str):
    """Proposed items (accept, attach, merge, reject) and post-its (show, hide)."""
    consultation, _ = consultation_for(request, slug, "moderate")
    targets = list(consultation.items.votable().in_order())
    if request.method == "POST":
        kind = request.POST.get("kind")
        try:
            if kind == "comment":
                comment = get_object_or_404(
                    Comment, pk=request.POST.get("comment"), item__consultation=consultation
                )
                state = request.POST.get("state", "")
                services.comment_moderate(comment=comment, state=state, actor=request.user)
                messages.success(request, "Post-it mis à jour.")
            elif kind == "item":
                item = get_object_or_404(
                    consultation.items, pk=request.POST.get("item"), status=ItemStatus.PROPOSED
                )
                form = ModerateItemForm(request.POST, targets=targets)
                if not form.is_valid():
                    raise ValidationError([e for errors in form.errors.values() for e in errors])
                target = next((t for t in targets if t.pk == form.cleaned_data["target"]), None)
                action = form.cleaned_data["action"]
                if action == "accept":
                    services.item_accept(item=item, actor=request.user)
                elif action == "attach":
                    services.item_accept(item=item, parent=target, actor=request.user)
                elif action == "merge":
                    services.item_merge(item=item, into=target, actor=request.user)
                else:
                    services.item_reject(item=item, actor=request.user)
                messages.success(request, "Proposition traitée.")
            else:
                raise Http404("Action inconnue.")
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        return redirect("workshops:moderation", consultation.slug)
    proposed = list(consultation.items.filter(status=ItemStatus.PROPOSED).order_by("created_at"))
    for item in proposed:
        item.form = ModerateItemForm(targets=targets, prefix=f"item{item.pk}", auto_id=f"id_item{item.pk}_%s")
    comments = (
        Comment.objects.filter(item__consultation=consultation)
        .select_related("item")
        .order_by("state", "-created_at")
    )
    return render(
        request,
        "workshops/moderation.html",
        {"consultation": consultation, "proposed": proposed, "comments": comments, "states": CommentState},
    )


def groups(request, slug: str):
    """Working groups (number, name, members, rapporteur) and their action proposals."""
    consultation, _ = consultation_for(request, slug, "manage_groups")
    participants = list(consultation.participants.select_related("user").order_by("pk"))
    items = list(consultation.items.votable().in_order())
    group_form = GroupForm(participants=participants)
    if request.method == "POST":
        kind = request.POST.get("kind")
        if kind == "group":
            group_form = GroupForm(request.POST, participants=participants)
            if group_form.is_valid():
                data = group_form.cleaned_data
                by_pk = {p.pk: p for p in participants}
                try:
                    services.group_save(
                        consultation=consultation,
                        number=data["number"],
                        name=data["name"],
                        members=[by_pk[pk] for pk in data["members"]],
                        rapporteur=by_pk.get(data["rapporteur"]),
                        actor=request.user,
                    )
                except ValidationError as exc:
                    group_form.add_error(None, exc)
                else:
                    messages.success(request, "Groupe enregistré.")
                    return redirect("workshops:groups", consultation.slug)
        elif kind == "proposal":
            group = get_object_or_404(WorkingGroup, pk=request.POST.get("group"), consultation=consultation)
            form = ProposalForm(request.POST, items=items, prefix=f"g{group.pk}")
            if form.is_valid():
                try:
                    services.proposal_create(
                        group=group,
                        text=form.cleaned_data["text"],
                        items=[i for i in items if i.pk in form.cleaned_data["items"]],
                        tags=form.tag_names(),
                        actor=request.user,
                    )
                except ValidationError as exc:
                    messages.error(request, _errors(exc))
                else:
                    messages.success(request, "Proposition ajoutée.")
            else:
                messages.error(request, "La proposition est vide ou trop longue.")
            return redirect(reverse("workshops:groups", args=[consultation.slug]) + f"#groupe-{group.pk}")
        else:
            raise Http404("Action inconnue.")
    group_list = list(
        consultation.groups.select_related("rapporteur__user")
        .prefetch_related("members__user", "proposals__items", "proposals__tags")
        .order_by("number")
    )
    for group in group_list:
        group.proposal_form = ProposalForm(items=items, prefix=f"g{group.pk}")
    return render(
        request,
        "workshops/groups.html",
        {"consultation": consultation, "groups": group_list, "group_form": group_form},
    )


def group_report(request, slug: str, group_id: int):
    """A working group's proposals, typed by its rapporteur (or the facilitator)."""
    consultation, visitor = consultation_for(request, slug, "view")
    group = get_object_or_404(consultation.groups.select_related("consultation"), pk=group_id)
    deny_unless(group_can_report(visitor, group))
    items = list(consultation.items.votable().in_order())
    form = ProposalForm(request.POST or None, items=items)
    if request.method == "POST" and form.is_valid():
        try:
            services.proposal_create(
                group=group,
                text=form.cleaned_data["text"],
                items=[i for i in items if i.pk in form.cleaned_data["items"]],
                tags=form.tag_names(),
                actor=_actor(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Proposition ajoutée.")
            return redirect("workshops:group_report", consultation.slug, group.pk)
    proposals = group.proposals.prefetch_related("items", "tags")
    return render(
        request,
        "workshops/group_report.html",
        {"consultation": consultation, "group": group, "form": form, "proposals": proposals},
    )
