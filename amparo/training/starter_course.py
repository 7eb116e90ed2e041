"""The starter course "Observing lawfully", in English and Spanish.

It ships as a draft: the network's attorneys review and adapt it to local law before it is
published. `amparo loadstartercourse` loads it once; running it again changes nothing.
"""

from __future__ import annotations

from django.db import transaction

from amparo.training.models import (
    Course,
    CourseKind,
    CourseTranslation,
    Module,
    ModuleTranslation,
    Question,
    QuestionTranslation,
)

STARTER_SLUG = "observing-lawfully"

REVIEW_NOTE = {
    "en": (
        "> **Draft for review.** This text is general information, not legal advice. "
        "The network's attorneys review it and adapt it to local law before it is used."
    ),
    "es": (
        "> **Borrador para revisión.** Este texto es información general, no asesoría legal. "
        "Los abogados de la red lo revisan y lo adaptan a la ley local antes de usarlo."
    ),
}

TITLE = {"en": "Observing lawfully", "es": "Observar dentro de la ley"}
SUMMARY = {
    "en": (
        "What a legal observer is for, what an observer may and may never do, how to write "
        "notes and hand them to the legal team, the privacy of the people filmed, and "
        "know-your-rights basics."
    ),
    "es": (
        "Para qué sirve un observador legal, lo que puede hacer y lo que nunca hace, cómo "
        "tomar notas y entregarlas al equipo legal, la privacidad de las personas filmadas y "
        "los derechos básicos."
    ),
}

MODULES: list[dict[str, tuple[str, str]]] = [
    {
        "en": (
            "What an observer is for",
            """An observer is a calm, trained witness. You are there so that what happens
is seen and written down accurately, and so that the people affected have a reliable
record if they need one later, in court or elsewhere.

- You **watch, listen and record** what happens, from a distance.
- You **do not take sides on the spot**: you do not intervene, negotiate or protest.
- Your notes and media go **only to the network's legal team**, who decide what to do with them.

An accurate, neutral record protects everyone in it, including the people you observe
and the officers present: it shows what really happened.""",
        ),
        "es": (
            "Para qué sirve un observador",
            """Un observador es un testigo capacitado y tranquilo. Usted está presente para que
lo que ocurra se vea y quede anotado con exactitud, y para que las personas afectadas tengan
un registro fiable si lo necesitan más adelante, en un tribunal o en otro lugar.

- Usted **observa, escucha y registra** lo que ocurre, a distancia.
- Usted **no toma partido en el momento**: no interviene, no negocia ni protesta.
- Sus notas y grabaciones van **solo al equipo legal de la red**, que decide qué hacer con ellas.

Un registro exacto y neutral protege a todas las personas que aparecen en él, incluidas las
personas observadas y los agentes presentes: muestra lo que de verdad ocurrió.""",
        ),
    },
    {
        "en": (
            "What you may do",
            """In a public place you may generally:

1. **Watch** what happens, from a distance that does not get in anyone's way.
2. **Film or photograph** what is in plain view, without interfering.
3. **Take notes** of what you see and hear.
4. **Follow lawful orders.** If an officer tells you to step back, step back, calmly,
   and keep observing from where you are told to stand. Note the order and the time.
5. **Keep a partner.** Always observe in pairs; agree beforehand where to meet and who
   calls the legal team.

Keep your hands visible, move slowly, and say that you are an observer if asked.""",
        ),
        "es": (
            "Lo que usted puede hacer",
            """En un lugar público, por lo general, usted puede:

1. **Observar** lo que ocurre, a una distancia que no estorbe a nadie.
2. **Filmar o fotografiar** lo que está a la vista, sin interferir.
3. **Tomar notas** de lo que ve y oye.
4. **Obedecer las órdenes legales.** Si un agente le pide que se aleje, aléjese con calma
   y siga observando desde donde le indiquen. Anote la orden y la hora.
5. **Ir con un compañero.** Observe siempre en pareja; acuerden antes dónde reunirse y
   quién llama al equipo legal.

Mantenga las manos a la vista, muévase despacio y diga que es observador si se lo preguntan.""",
        ),
    },
    {
        "en": (
            "What you never do",
            """An observer never:

- **touches** an officer or anyone being detained;
- **blocks** a door, a vehicle, a path or an officer's movement;
- **argues** with officers or tries to stop what they are doing;
- **follows** officers or their vehicles when they leave;
- **gives legal advice** to anyone: you are not their lawyer. Give them the hotline
  number instead;
- **posts footage publicly** or shares it with anyone outside the legal team, not even
  with friends or the press.

If you feel unable to stay calm, step away and let your partner continue.""",
        ),
        "es": (
            "Lo que usted nunca hace",
            """Un observador nunca:

- **toca** a un agente ni a la persona detenida;
- **bloquea** una puerta, un vehículo, un paso ni el movimiento de un agente;
- **discute** con los agentes ni intenta impedir lo que hacen;
- **sigue** a los agentes ni a sus vehículos cuando se van;
- **da asesoría legal** a nadie: usted no es su abogado. En su lugar, dé el número de la
  línea de ayuda;
- **publica grabaciones** ni las comparte con nadie fuera del equipo legal, ni siquiera
  con amistades o la prensa.

Si siente que no puede mantener la calma, apártese y deje que su compañero continúe.""",
        ),
    },
    {
        "en": (
            "How to write notes",
            """Good notes are what make your observation useful. Write as soon as you can, and
stick to facts:

- **Times**: when you arrived, when each thing happened, when you left.
- **Places**: the address or the nearest corner, and where you stood.
- **What was said and done**, in the words used where you can, without guessing what
  anyone meant or felt.
- **Witnesses**: other people present who may be willing to be contacted, only if they
  agree to give you a way to reach them.

Write what you saw, not what you think it means. If you did not see something, do not write
it as if you had. Sign and date your notes.""",
        ),
        "es": (
            "Cómo tomar notas",
            """Las buenas notas son lo que hace útil su observación. Escriba lo antes posible y
limítese a los hechos:

- **Horas**: cuándo llegó, cuándo ocurrió cada cosa, cuándo se fue.
- **Lugares**: la dirección o la esquina más cercana, y dónde estaba usted.
- **Lo que se dijo y se hizo**, con las palabras usadas cuando pueda, sin adivinar lo que
  alguien quiso decir o sintió.
- **Testigos**: otras personas presentes que quizá acepten ser contactadas, solo si están
  de acuerdo en darle una forma de localizarlas.

Escriba lo que vio, no lo que cree que significa. Si no vio algo, no lo escriba como si lo
hubiera visto. Firme y ponga fecha a sus notas.""",
        ),
    },
    {
        "en": (
            "Handing notes and media to the legal team",
            """Your notes and recordings belong in the network's hands, not in your phone's
gallery or a chat group.

- Upload them through Amparo as soon as you can, **without editing, cutting or filtering**
  them. The original is what a court can rely on.
- Do not send them by chat, email or social media.
- After the legal team confirms it has them, delete your copies if the team asks you to.
- If someone asks you for the footage, refer them to the legal team.""",
        ),
        "es": (
            "Entregar notas y grabaciones al equipo legal",
            """Sus notas y grabaciones deben quedar en manos de la red, no en la galería de su
teléfono ni en un grupo de chat.

- Súbalas con Amparo lo antes posible, **sin editarlas, cortarlas ni aplicar filtros**.
  El original es lo que un tribunal puede tomar en cuenta.
- No las envíe por chat, correo electrónico ni redes sociales.
- Cuando el equipo legal confirme que las tiene, borre sus copias si el equipo se lo pide.
- Si alguien le pide las grabaciones, remítalo al equipo legal.""",
        ),
    },
    {
        "en": (
            "The privacy of people who are filmed",
            """The people you film are often in the worst moment of their lives, and some of
them are at risk if their faces or names become known.

- Film what happens, not the crowd. Avoid close-ups of bystanders and children.
- Never post or show footage to anyone outside the legal team.
- Do not ask people for their immigration status or other personal details.
- If a person asks you not to film them, respect that unless the legal team has told you
  otherwise for that event.""",
        ),
        "es": (
            "La privacidad de las personas filmadas",
            """Las personas a quienes usted filma a menudo viven el peor momento de su vida, y
algunas corren riesgo si su cara o su nombre se conocen.

- Filme lo que ocurre, no a la multitud. Evite primeros planos de transeúntes y de niños.
- Nunca publique ni muestre grabaciones a nadie fuera del equipo legal.
- No pregunte a nadie por su situación migratoria ni por otros datos personales.
- Si una persona le pide que no la filme, respételo, salvo que el equipo legal le haya
  indicado otra cosa para ese evento.""",
        ),
    },
    {
        "en": (
            "Know-your-rights basics",
            """These basics are what you may hear at a teach-in. Share the hotline number, not
your own interpretation: only a lawyer gives legal advice.

- Everyone has the **right to remain silent** and may say so out loud.
- A person may **decline to consent to a search** of themselves, their car or their home,
  and say so calmly, without resisting.
- A person does not have to open the door of their home unless officers show a
  **warrant signed by a judge**; they can ask for it to be passed under the door.
- A person should **not lie and not show false documents**.
- A person may **ask to speak to a lawyer** and should not sign anything they do not
  understand.
- Staying calm, keeping hands visible and not running protects everyone.""",
        ),
        "es": (
            "Derechos básicos",
            """Esto es lo básico que se explica en un taller de derechos. Comparta el número de
la línea de ayuda, no su propia interpretación: solo un abogado da asesoría legal.

- Toda persona tiene **derecho a guardar silencio** y puede decirlo en voz alta.
- Una persona puede **negarse a dar permiso para un registro** de su persona, su auto o su
  casa, y decirlo con calma, sin resistirse.
- Una persona no tiene que abrir la puerta de su casa salvo que los agentes muestren una
  **orden firmada por un juez**; puede pedir que la pasen por debajo de la puerta.
- Una persona **no debe mentir ni mostrar documentos falsos**.
- Una persona puede **pedir hablar con un abogado** y no debe firmar nada que no entienda.
- Mantener la calma, las manos a la vista y no correr protege a todos.""",
        ),
    },
]

# (prompt, choices, number of the correct choice, explanation) in each language.
QUESTIONS: list[dict[str, tuple[str, list[str], int, str]]] = [
    {
        "en": (
            "What is an observer there for?",
            [
                "To stop the operation",
                "To see and accurately record what happens, for the legal team",
                "To give legal advice to the people detained",
                "To post what happens online as it happens",
            ],
            2,
            "An observer is a neutral witness whose record goes to the legal team.",
        ),
        "es": (
            "¿Para qué está presente un observador?",
            [
                "Para detener el operativo",
                "Para ver y registrar con exactitud lo que ocurre, para el equipo legal",
                "Para dar asesoría legal a las personas detenidas",
                "Para publicar en línea lo que ocurre en el momento",
            ],
            2,
            "Un observador es un testigo neutral cuyo registro va al equipo legal.",
        ),
    },
    {
        "en": (
            "An officer tells you to step back across the street. What do you do?",
            [
                "Refuse: you have a right to be there",
                "Argue until they explain why",
                "Step back calmly, keep observing, and note the order and the time",
                "Leave and stop observing",
            ],
            3,
            "Follow lawful orders calmly; you can keep observing from where you are told to stand.",
        ),
        "es": (
            "Un agente le pide que se aleje al otro lado de la calle. ¿Qué hace?",
            [
                "Se niega: tiene derecho a estar allí",
                "Discute hasta que le expliquen por qué",
                "Se aleja con calma, sigue observando y anota la orden y la hora",
                "Se va y deja de observar",
            ],
            3,
            "Obedezca las órdenes legales con calma; puede seguir observando desde donde le "
            "indiquen.",
        ),
    },
    {
        "en": (
            "Why do observers work with a partner?",
            [
                "So that one can block the door while the other films",
                "For safety, and so that one can call the legal team while the other observes",
                "To argue with officers more effectively",
                "Partners are optional",
            ],
            2,
            "A partner keeps you safe and lets one of you call the legal team.",
        ),
        "es": (
            "¿Por qué los observadores trabajan en pareja?",
            [
                "Para que uno bloquee la puerta mientras el otro filma",
                "Por seguridad, y para que uno llame al equipo legal mientras el otro observa",
                "Para discutir mejor con los agentes",
                "Ir en pareja es opcional",
            ],
            2,
            "Un compañero le da seguridad y permite que uno de ustedes llame al equipo legal.",
        ),
    },
    {
        "en": (
            "Which of these does an observer never do?",
            [
                "Take notes",
                "Film from a distance",
                "Follow officers' vehicles when they leave",
                "Keep a partner",
            ],
            3,
            "Observers never follow officers. They watch only where they are, at a pre-planned "
            "event.",
        ),
        "es": (
            "¿Cuál de estas cosas no hace nunca un observador?",
            [
                "Tomar notas",
                "Filmar a distancia",
                "Seguir los vehículos de los agentes cuando se van",
                "Ir con un compañero",
            ],
            3,
            "Los observadores nunca siguen a los agentes. Observan solo donde están, en un evento "
            "planificado.",
        ),
    },
    {
        "en": (
            "A person being detained asks you what they should say. What do you do?",
            [
                "Tell them what you would do in their place",
                "Give them the hotline number; you do not give legal advice",
                "Tell them to run",
                "Tell them to sign whatever they are given",
            ],
            2,
            "Only a lawyer gives legal advice. The hotline connects them with one.",
        ),
        "es": (
            "Una persona detenida le pregunta qué debe decir. ¿Qué hace usted?",
            [
                "Le dice lo que usted haría en su lugar",
                "Le da el número de la línea de ayuda; usted no da asesoría legal",
                "Le dice que corra",
                "Le dice que firme todo lo que le den",
            ],
            2,
            "Solo un abogado da asesoría legal. La línea de ayuda la pone en contacto con uno.",
        ),
    },
    {
        "en": (
            "What belongs in your notes?",
            [
                "Times, places, what was said and done, and witnesses who agree to be contacted",
                "Your guesses about what people were thinking",
                "Only what you filmed",
                "Nothing: memory is enough",
            ],
            1,
            "Notes are facts: times, places, words and actions, and willing witnesses.",
        ),
        "es": (
            "¿Qué debe ir en sus notas?",
            [
                "Horas, lugares, lo que se dijo y se hizo, y testigos que acepten ser contactados",
                "Sus suposiciones sobre lo que pensaba la gente",
                "Solo lo que filmó",
                "Nada: basta con la memoria",
            ],
            1,
            "Las notas son hechos: horas, lugares, palabras y acciones, y testigos dispuestos.",
        ),
    },
    {
        "en": (
            "What do you do with your footage after an event?",
            [
                "Post it so that people know what happened",
                "Edit out the boring parts, then upload it",
                "Upload it unedited through Amparo for the legal team only",
                "Send it to a journalist you trust",
            ],
            3,
            "Unedited originals go to the legal team only; a court can rely on an original.",
        ),
        "es": (
            "¿Qué hace con sus grabaciones después de un evento?",
            [
                "Publicarlas para que la gente sepa lo que pasó",
                "Quitar las partes aburridas y luego subirlas",
                "Subirlas sin editar con Amparo, solo para el equipo legal",
                "Enviarlas a un periodista de confianza",
            ],
            3,
            "Los originales sin editar van solo al equipo legal; un tribunal puede tomar en "
            "cuenta un original.",
        ),
    },
    {
        "en": (
            "How do you respect the privacy of people you film?",
            [
                "Film close-ups of everyone present",
                "Ask each person about their immigration status",
                "Film what happens, avoid close-ups of bystanders and children, share with no one "
                "outside the legal team",
                "Share the footage in a private group only",
            ],
            3,
            "People filmed may be at risk; film the events, not the crowd, and share with no one.",
        ),
        "es": (
            "¿Cómo respeta la privacidad de las personas que filma?",
            [
                "Filma primeros planos de todas las personas presentes",
                "Pregunta a cada persona por su situación migratoria",
                "Filma lo que ocurre, evita primeros planos de transeúntes y niños, y no comparte "
                "nada fuera del equipo legal",
                "Comparte las grabaciones solo en un grupo privado",
            ],
            3,
            "Las personas filmadas pueden correr riesgo; filme los hechos, no a la multitud, y no "
            "comparta nada.",
        ),
    },
    {
        "en": (
            "Which is a know-your-rights basic?",
            [
                "Everyone must answer every question an officer asks",
                "Everyone has the right to remain silent",
                "Showing false documents is fine if it helps",
                "A person must open the door to any officer who knocks",
            ],
            2,
            "Everyone may remain silent. Nobody should lie or show false documents.",
        ),
        "es": (
            "¿Cuál es un derecho básico?",
            [
                "Toda persona debe responder a todas las preguntas de un agente",
                "Toda persona tiene derecho a guardar silencio",
                "Mostrar documentos falsos está bien si ayuda",
                "Una persona debe abrir la puerta a cualquier agente que toque",
            ],
            2,
            "Toda persona puede guardar silencio. Nadie debe mentir ni mostrar documentos falsos.",
        ),
    },
    {
        "en": (
            "You feel yourself getting angry while observing. What do you do?",
            [
                "Tell the officers what you think of them",
                "Step away and let your partner continue",
                "Move closer to get a better view",
                "Stand in front of the vehicle",
            ],
            2,
            "Staying calm is part of the job; stepping away keeps everyone safe.",
        ),
        "es": (
            "Nota que se está enojando mientras observa. ¿Qué hace?",
            [
                "Les dice a los agentes lo que piensa de ellos",
                "Se aparta y deja que su compañero continúe",
                "Se acerca para ver mejor",
                "Se pone delante del vehículo",
            ],
            2,
            "Mantener la calma es parte del trabajo; apartarse protege a todos.",
        ),
    },
]


@transaction.atomic
def load_starter_course() -> tuple[Course, bool]:
    """Load the starter course unless it is there already. Returns it and whether it was made."""
    existing = Course.objects.filter(slug=STARTER_SLUG).first()
    if existing is not None:
        return existing, False
    course = Course.objects.create(
        slug=STARTER_SLUG,
        kind=CourseKind.CERTIFICATION,
        default_language="en",
        pass_mark_percent=80,
        published=False,
        needs_legal_review=True,
    )
    for language in ("en", "es"):
        CourseTranslation.objects.create(
            course=course, language=language, title=TITLE[language], summary=SUMMARY[language]
        )
    for position, texts in enumerate(MODULES, start=1):
        module = Module.objects.create(course=course, position=position)
        for language, (title, body) in texts.items():
            ModuleTranslation.objects.create(
                module=module,
                language=language,
                title=title,
                body=REVIEW_NOTE[language] + "\n\n" + body,
            )
    for position, question_texts in enumerate(QUESTIONS, start=1):
        correct = {entry[2] for entry in question_texts.values()}
        if len(correct) != 1:
            raise ValueError(f"starter question {position}: languages disagree on the answer")
        question = Question.objects.create(
            course=course, position=position, correct_choice=correct.pop()
        )
        for language, (prompt, choices, _correct, explanation) in question_texts.items():
            QuestionTranslation.objects.create(
                question=question,
                language=language,
                prompt=prompt,
                choices=choices,
                explanation=explanation,
            )
    return course, True
