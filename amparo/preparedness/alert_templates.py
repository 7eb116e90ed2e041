"""The alert a contact receives when the family left no message of its own.

One text per language and per level of what the contact may be told; each level adds
facts to the one before, never more than the family allowed. Languages not in
REVIEWED_LANGUAGES are sent with a line saying the translation is unreviewed.
"""

from __future__ import annotations

from typing import TypedDict


class AlertText(TypedDict):
    subject: str
    needs_help: str
    detained: str
    children: str
    unreviewed: str


REVIEWED_LANGUAGES = frozenset({"en", "es", "ar"})

ALERT_TEXTS: dict[str, AlertText] = {
    "en": {
        "subject": "Emergency alert from {family}",
        "needs_help": (
            "Hello {contact}, this is an emergency alert from the family plan of {family}. "
            "They need your help now. Please call the hotline: {hotline}."
        ),
        "detained": "{person} may have been detained. Their attorney: {attorney}.",
        "children": "The children are cared for by: {caregivers}.",
        "unreviewed": "",
    },
    "es": {
        "subject": "Alerta de emergencia de {family}",
        "needs_help": (
            "Hola {contact}, esta es una alerta de emergencia del plan familiar de {family}. "
            "Necesitan su ayuda ahora. Por favor llame a la línea de ayuda: {hotline}."
        ),
        "detained": "Es posible que {person} haya sido detenido/a. Su abogado/a: {attorney}.",
        "children": "Quién cuida a los niños: {caregivers}.",
        "unreviewed": "",
    },
    "ar": {
        "subject": "تنبيه طارئ من {family}",
        "needs_help": (
            "مرحبًا {contact}، هذا تنبيه طارئ من خطة عائلة {family}. "
            "إنهم بحاجة إلى مساعدتك الآن. يرجى الاتصال بخط المساعدة: {hotline}."
        ),
        "detained": "ربما تم احتجاز {person}. المحامي: {attorney}.",
        "children": "يعتني بالأطفال: {caregivers}.",
        "unreviewed": "",
    },
    "ht": {
        "subject": "Alèt ijans soti nan {family}",
        "needs_help": (
            "Bonjou {contact}, sa a se yon alèt ijans nan plan fanmi {family}. "
            "Yo bezwen èd ou kounye a. Tanpri rele liy èd la: {hotline}."
        ),
        "detained": "Petèt yo arete {person}. Avoka li: {attorney}.",
        "children": "Moun k ap okipe timoun yo: {caregivers}.",
        "unreviewed": "(Tradiksyon sa a poko revize.)",
    },
    "pt": {
        "subject": "Alerta de emergência de {family}",
        "needs_help": (
            "Olá {contact}, este é um alerta de emergência do plano familiar de {family}. "
            "Eles precisam da sua ajuda agora. Ligue para a linha de apoio: {hotline}."
        ),
        "detained": "{person} pode ter sido detido/a. Advogado/a: {attorney}.",
        "children": "Quem cuida das crianças: {caregivers}.",
        "unreviewed": "(Tradução ainda não revisada.)",
    },
    "fr": {
        "subject": "Alerte d'urgence de {family}",
        "needs_help": (
            "Bonjour {contact}, ceci est une alerte d'urgence du plan familial de {family}. "
            "Ils ont besoin de votre aide maintenant. Appelez la ligne d'aide : {hotline}."
        ),
        "detained": "{person} a peut-être été détenu·e. Son avocat·e : {attorney}.",
        "children": "Les enfants sont gardés par : {caregivers}.",
        "unreviewed": "(Traduction pas encore relue.)",
    },
    "vi": {
        "subject": "Cảnh báo khẩn cấp từ {family}",
        "needs_help": (
            "Xin chào {contact}, đây là cảnh báo khẩn cấp từ kế hoạch gia đình của {family}. "
            "Họ cần bạn giúp ngay. Vui lòng gọi đường dây trợ giúp: {hotline}."
        ),
        "detained": "{person} có thể đã bị giam giữ. Luật sư: {attorney}.",
        "children": "Người chăm sóc các con: {caregivers}.",
        "unreviewed": "(Bản dịch chưa được kiểm tra.)",
    },
    "zh-hans": {
        "subject": "来自 {family} 的紧急警报",
        "needs_help": (
            "{contact}，您好，这是 {family} 家庭计划发出的紧急警报。"
            "他们现在需要您的帮助。请拨打求助热线：{hotline}。"
        ),
        "detained": "{person} 可能已被拘留。律师：{attorney}。",
        "children": "照顾孩子的人：{caregivers}。",
        "unreviewed": "（此译文尚未审核。）",
    },
}


def alert_text(language: str) -> AlertText:
    return ALERT_TEXTS.get(language, ALERT_TEXTS["en"])
