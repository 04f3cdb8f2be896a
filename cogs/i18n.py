"""English and Korean.

Command names, descriptions and options are localized through discord.py's app_commands Translator
(Discord shows each user their own locale's names). Replies written by cogs go through :func:`t`,
keyed by their English text, so English needs no catalogue and a missing Korean entry falls back to
English rather than failing.
"""

from __future__ import annotations

import discord
from discord import app_commands

KO: dict[str, str] = {
    # command, group and option names
    "shows": "공연목록",
    "book": "예매",
    "organizer": "주최자",
    "register": "등록",
    "grant": "권한부여",
    "role": "역할",
    "show": "공연",
    "create": "만들기",
    "edit": "수정",
    "cancel": "취소",
    "announce": "공지",
    "sales": "판매현황",
    "seats": "좌석추가",
    "seatmap": "좌석배치",
    "Add sections to one of your shows; waitlisted fans get them first": "내 공연에 구역을 추가합니다; 대기자에게 먼저 배정됩니다",
    "New sections, e.g. Balcony:2x10:Standard": "새 구역, 예: Balcony:2x10:Standard",
    "ticket": "티켓",
    "list": "목록",
    "quantity": "수량",
    "tier": "등급",
    "member": "멤버",
    "genres": "장르",
    "per_fan_limit": "1인당한도",
    "timezone": "시간대",
    "currency": "통화",
    "channel": "채널",
    "poster": "포스터",
    # descriptions
    "Upcoming shows in this server": "이 서버의 예정된 공연",
    "Reserve the best available seats for a show (through its queue)": "대기열을 거쳐 공연의 가장 좋은 빈 좌석을 예약합니다",
    "The show": "공연",
    "How many seats": "좌석 수",
    "Price tier (optional)": "가격 등급 (선택)",
    "Organizer tools for this server": "이 서버의 주최자 도구",
    "Become an organizer in this server (admins, or the organizer role)": "이 서버의 주최자가 됩니다 (관리자 또는 주최자 역할)",
    "Make a member an organizer (server admins)": "멤버를 주최자로 지정합니다 (서버 관리자)",
    "Who may create and sell shows here": "이 서버에서 공연을 만들고 판매할 수 있는 사람",
    "Let members with this role register as organizers (server admins)": "이 역할의 멤버가 주최자로 등록할 수 있게 합니다 (서버 관리자)",
    "Create, announce and run your shows": "공연을 만들고 공지하고 운영합니다",
    "Create a show: a form asks for title, artists, times, venue and prices": "공연 만들기: 제목, 아티스트, 시간, 장소, 가격을 입력합니다",
    "Genres, comma-separated (fans following them get an alert)": "장르, 쉼표로 구분 (팔로우한 팬에게 알림)",
    "Most tickets one fan may buy": "팬 한 명이 살 수 있는 최대 티켓 수",
    "Time zone of the times you type, e.g. Asia/Seoul": "입력하는 시간의 시간대, 예: Asia/Seoul",
    "Three-letter currency code": "세 글자 통화 코드",
    "queue_rate": "대기열속도",
    "waitlist_mode": "대기자방식",
    "charge: the next waiting fan is charged at once; offer: they get minutes to accept": "charge: 다음 대기자에게 바로 결제; offer: 몇 분 안에 수락",
    "Fans let in from the queue per minute during the on-sale": "판매 중 분당 대기열에서 입장시키는 팬 수",
    "Edit one of your shows": "내 공연을 수정합니다",
    "Cancel one of your shows: every fan is refunded and told": "내 공연을 취소합니다: 모든 팬에게 환불하고 알립니다",
    "Post a show's announcement with Book / Follow / Waitlist buttons": "예매 / 팔로우 / 대기 버튼이 있는 공연 공지를 올립니다",
    "Where to post it": "올릴 채널",
    "An optional poster image": "포스터 이미지 (선택)",
    "Sales of one of your shows: per tier, revenue, waitlist, chart": "내 공연의 판매 현황: 등급별, 매출, 대기자, 차트",
    "Your tickets": "내 티켓",
    "Your tickets and refunds": "내 티켓과 환불",
    "Cancel one of your tickets for a full refund": "티켓을 취소하고 전액 환불받습니다",
    "The ticket to cancel": "취소할 티켓",
    # replies
    "No upcoming shows here yet.": "아직 예정된 공연이 없습니다.",
    "Upcoming shows": "예정된 공연",
    "You have no tickets yet. Use /book to get some.": "아직 티켓이 없습니다. /예매 로 예매하세요.",
    "How many seats for **{title}**?": "**{title}** 몇 석을 예매할까요?",
    "Reserved: {title}": "예약됨: {title}",
    "Paid: {title}": "결제 완료: {title}",
    "Released: the seats are back on sale.": "해제됨: 좌석이 다시 판매됩니다.",
    "You are #{position} on the waitlist for **{title}**.": "**{title}** 대기 순번 {position}번입니다.",
    "Announced in {channel}.": "{channel}에 공지했습니다.",
    "Something went wrong on our side and nothing was changed. Please try again in a moment.": "오류가 발생했지만 아무것도 변경되지 않았습니다. 잠시 후 다시 시도해 주세요.",
    # --- limits ---
    "…and {n} more": "…외 {n}건",
    "Page {page}/{pages} · {count} shows": "{page}/{pages} 페이지 · 공연 {count}개",
    "Previous": "이전",
    "Next": "다음",
    "Artists ({count}): ": "팔로우한 아티스트 ({count}): ",
    "Genres ({count}): ": "팔로우한 장르 ({count}): ",
    # --- input ---
    "`{value}` is not a valid {kind} here.": "`{value}`은(는) 여기서 쓸 수 없는 {kind} 값입니다.",
    "Your request went through, but something went wrong on our side while answering. Check the result before trying again.": "요청은 처리되었지만 결과를 보여 드리는 중 오류가 발생했습니다. 다시 시도하기 전에 결과를 먼저 확인해 주세요.",
    "Created show #{id}. Announce it with /show announce.": "공연 #{id}을(를) 만들었습니다. /공연 공지 로 알려 보세요.",
    "Show #{id} updated.": "공연 #{id} 정보를 수정했습니다.",
    "Added {added} seats to show #{show}. {given} waitlisted fan(s) got them first; the rest are on sale.": "공연 #{show}에 {added}석을 추가했습니다. 취소표 대기자 {given}명에게 먼저 배정했고, 나머지는 예매 가능합니다.",
    "You now follow {what}.": "{what}을(를) 팔로우합니다.",
    " and ": ", ",
    "artist **{name}**": "아티스트 **{name}**",
    "genre **{name}**": "장르 **{name}**",
    "Ticket #{id} ({seat}) for **{title}** is cancelled; {amount} is on its way back to your card.": "**{title}** 티켓 #{id} ({seat}) 예매를 취소했습니다. {amount}은(는) 결제하신 카드로 환불됩니다.",
    "Ticket #{id} ({seat}) for **{title}** is cancelled. The payment provider has not confirmed your refund of {amount} yet: it is pending and we retry it automatically; you need not do anything.": "**{title}** 티켓 #{id} ({seat}) 예매를 취소했습니다. {amount} 환불은 결제사 확인을 기다리는 중(환불 대기)이며 자동으로 다시 요청합니다. 따로 하실 일은 없습니다.",
    "Reserve {n} seat(s) · {tier}": "{n}석 예매 · {tier}",
    "Reserve {n} seat(s)": "{n}석 예매",
    # --- authority ---
    "⛔ Refused: {reason}": "⛔ 입장 불가: {reason}",
    "That image is too large to read (over {megapixels} megapixels or {megabytes} MB). Send a screenshot of the QR, or type the code.": "이미지가 너무 커서 읽을 수 없습니다({megapixels}메가픽셀 또는 {megabytes}MB 초과). 모바일 티켓의 QR 화면을 캡처해 보내시거나 코드를 직접 입력해 주세요.",
    "No QR code could be read in that photo. Try again closer, or type the code.": "사진에서 QR 코드를 읽을 수 없습니다. 더 가까이에서 다시 찍거나 코드를 직접 입력해 주세요.",
    "revoke": "권한회수",
    "Take a member's organizer rights away (server admins)": "멤버의 주최자 권한을 회수합니다 (서버 관리자)",
    "Who may no longer create, announce or sell shows here": "더 이상 이 서버에서 공연을 등록·공지·판매할 수 없게 할 멤버",
    "{member} is no longer an organizer here. Their shows stay on sale for ticket holders; they can no longer manage them.": "{member} 님의 주최자 권한을 회수했습니다. 이미 예매한 관객을 위해 기존 공연은 그대로 유지되며, 더 이상 공연을 관리할 수 없습니다.",
    "Pick a channel of this server.": "이 서버의 채널을 선택해 주세요.",
    "You can't post in {channel}, so Picket won't post there for you.": "{channel} 채널에 글을 쓸 권한이 없으므로 Picket이 대신 공지를 올리지 않습니다.",
    "Picket can't post in {channel}: give it View Channel, Send Messages and Embed Links there.": "Picket이 {channel} 채널에 글을 올릴 수 없습니다. 해당 채널에서 Picket에 채널 보기, 메시지 보내기, 링크 첨부 권한을 주세요.",
    # --- fair ---
    "**{title}** still has seats on sale: join the queue with /queue join to book them. The waitlist opens once they are sold out.":
        "**{title}** 좌석이 아직 판매 중입니다: /queue join 으로 대기열에 들어와 예매하세요. 취소표 대기는 매진된 뒤에 열립니다.",
    "Tier {tier} of **{title}** still has seats on sale: join the queue with /queue join to book them. The waitlist opens once they are sold out.":
        "**{title}** {tier} 등급 좌석이 아직 판매 중입니다: /queue join 으로 대기열에 들어와 예매하세요. 취소표 대기는 매진된 뒤에 열립니다.",
    "Sales for **{title}** open {when} ({date}). Join the queue with /queue join; the waitlist opens only once the show is sold out.":
        "**{title}** 예매는 {when} ({date}) 오픈합니다. /queue join 으로 대기열에 들어오세요; 취소표 대기는 매진된 뒤에만 열립니다.",
    # --- money ---
    "Currency: `{code}` is not an ISO 4217 currency code such as KRW, USD or EUR.": "통화: `{code}`은(는) ISO 4217 통화 코드가 아닙니다. KRW, USD, EUR처럼 입력해 주세요.",
    # --- zone ---
    "zone": "시간대",
    "The time zone of new shows here when their organizer names none (server admins)": "주최자가 시간대를 정하지 않은 새 공연에 쓸 이 서버의 기본 시간대 (서버 관리자)",
    "An IANA time zone, e.g. Asia/Seoul or Europe/Paris": "IANA 시간대, 예: Asia/Seoul, Europe/Paris",
    "The venue's time zone, e.g. Asia/Seoul (default: the server's)": "공연장 시간대, 예: Asia/Seoul (기본값: 서버 기본 시간대)",
    "Move the show to another time zone (default: keep its own)": "공연 시간대 변경 (기본값: 현재 시간대 유지)",
    "New shows in this server use {zone} unless their organizer names another time zone.": "이 서버의 새 공연은 주최자가 시간대를 따로 정하지 않으면 {zone} 기준으로 등록됩니다.",
    # --- deliver ---
    "⚠️ I could not send you a DM: your Discord privacy settings block DMs from me. Allow direct messages"
    " from this server's members to get your tickets and alerts by DM (/ticket list shows your tickets).": (
        "⚠️ DM을 보내지 못했습니다: 디스코드 개인정보 설정에서 DM이 차단되어 있습니다. 티켓과 알림을 DM으로 받으려면"
        " 이 서버 멤버의 다이렉트 메시지를 허용해 주세요 (티켓은 /티켓 목록 에서 확인할 수 있습니다)."
    ),
}

CATALOGUES = {discord.Locale.korean: KO}


def t(interaction: discord.Interaction | None, text: str, **params: object) -> str:
    """``text`` (an English template) in the interaction user's language, formatted with ``params``."""
    catalogue = CATALOGUES.get(getattr(interaction, "locale", None), {})
    return catalogue.get(text, text).format(**params)


class PicketTranslator(app_commands.Translator):
    async def translate(self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContext) -> str | None:
        return CATALOGUES.get(locale, {}).get(string.message)
