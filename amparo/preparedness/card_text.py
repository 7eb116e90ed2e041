"""The rights card's words in each language the card is printed in.

Kept here rather than in the gettext catalogues because a card is printed in the
family's language whatever language the site is shown in, including languages the site
itself is not yet translated into. Languages outside REVIEWED_CARD_LANGUAGES print a
line saying that no fluent reviewer has checked the translation.
"""

from __future__ import annotations

from typing import TypedDict


class CardText(TypedDict):
    title: str
    silent: str
    door: str
    sign: str
    leave: str
    leave_question: str
    attorney: str
    hotline: str
    no_attorney: str
    unreviewed: str


REVIEWED_CARD_LANGUAGES = frozenset({"en", "es", "ar"})
RIGHT_TO_LEFT = frozenset({"ar"})

CARD_TEXTS: dict[str, CardText] = {
    "en": {
        "title": "Know your rights",
        "silent": "I have the right to remain silent.",
        "door": "I will not open the door unless I am shown a warrant signed by a judge.",
        "sign": "I will not sign anything without a lawyer.",
        "leave": "I may ask:",
        "leave_question": "Am I free to leave?",
        "attorney": "My attorney",
        "hotline": "Hotline",
        "no_attorney": "Call the hotline to find a lawyer.",
        "unreviewed": "",
    },
    "es": {
        "title": "Conozca sus derechos",
        "silent": "Tengo derecho a guardar silencio.",
        "door": "No abriré la puerta a menos que me muestren una orden firmada por un juez.",
        "sign": "No firmaré nada sin hablar con un abogado.",
        "leave": "Puedo preguntar:",
        "leave_question": "¿Puedo irme?",
        "attorney": "Mi abogado/a",
        "hotline": "Línea de ayuda",
        "no_attorney": "Llame a la línea de ayuda para encontrar un abogado.",
        "unreviewed": "",
    },
    "ar": {
        "title": "اعرف حقوقك",
        "silent": "لدي الحق في التزام الصمت.",
        "door": "لن أفتح الباب إلا إذا عُرضت عليّ مذكرة موقعة من قاضٍ.",
        "sign": "لن أوقّع على أي شيء بدون محامٍ.",
        "leave": "يمكنني أن أسأل:",
        "leave_question": "هل أنا حر في المغادرة؟",
        "attorney": "محاميّ",
        "hotline": "خط المساعدة",
        "no_attorney": "اتصل بخط المساعدة للعثور على محامٍ.",
        "unreviewed": "",
    },
    "ht": {
        "title": "Konnen dwa ou",
        "silent": "Mwen gen dwa pou m rete an silans.",
        "door": "Mwen p ap louvri pòt la si yo pa montre m yon manda yon jij siyen.",
        "sign": "Mwen p ap siyen anyen san yon avoka.",
        "leave": "Mwen ka mande:",
        "leave_question": "Èske mwen lib pou m ale?",
        "attorney": "Avoka mwen",
        "hotline": "Liy èd",
        "no_attorney": "Rele liy èd la pou jwenn yon avoka.",
        "unreviewed": "Tradiksyon sa a poko revize.",
    },
    "pt": {
        "title": "Conheça seus direitos",
        "silent": "Tenho o direito de permanecer em silêncio.",
        "door": "Não vou abrir a porta a menos que me mostrem um mandado assinado por um juiz.",
        "sign": "Não vou assinar nada sem um advogado.",
        "leave": "Posso perguntar:",
        "leave_question": "Estou livre para ir embora?",
        "attorney": "Meu advogado/a",
        "hotline": "Linha de apoio",
        "no_attorney": "Ligue para a linha de apoio para encontrar um advogado.",
        "unreviewed": "Tradução ainda não revisada.",
    },
    "zh-hans": {
        "title": "了解您的权利",
        "silent": "我有权保持沉默。",
        "door": "除非出示法官签署的搜查令，否则我不会开门。",
        "sign": "没有律师在场，我不会签署任何文件。",
        "leave": "我可以问：",
        "leave_question": "我可以离开吗？",
        "attorney": "我的律师",
        "hotline": "求助热线",
        "no_attorney": "请拨打求助热线寻找律师。",
        "unreviewed": "此译文尚未审核。",
    },
    "vi": {
        "title": "Biết quyền của bạn",
        "silent": "Tôi có quyền giữ im lặng.",
        "door": "Tôi sẽ không mở cửa trừ khi được xem lệnh có chữ ký của thẩm phán.",
        "sign": "Tôi sẽ không ký bất cứ điều gì khi không có luật sư.",
        "leave": "Tôi có thể hỏi:",
        "leave_question": "Tôi có được tự do rời đi không?",
        "attorney": "Luật sư của tôi",
        "hotline": "Đường dây trợ giúp",
        "no_attorney": "Gọi đường dây trợ giúp để tìm luật sư.",
        "unreviewed": "Bản dịch chưa được kiểm tra.",
    },
    "fr": {
        "title": "Connaissez vos droits",
        "silent": "J'ai le droit de garder le silence.",
        "door": "Je n'ouvrirai pas la porte sans un mandat signé par un juge.",
        "sign": "Je ne signerai rien sans avocat.",
        "leave": "Je peux demander :",
        "leave_question": "Suis-je libre de partir ?",
        "attorney": "Mon avocat·e",
        "hotline": "Ligne d'aide",
        "no_attorney": "Appelez la ligne d'aide pour trouver un avocat.",
        "unreviewed": "Traduction pas encore relue.",
    },
}

CARD_LANGUAGES = tuple(CARD_TEXTS)


def card_text(language: str) -> CardText:
    return CARD_TEXTS.get(language, CARD_TEXTS["en"])
