"""Memorable passphrases: four common words and a number, from a small built-in list.

Words are plain ASCII (no accents) so they type the same on any phone keyboard. With
256 words and 90 numbers a passphrase carries about 38 bits; sign-in is throttled and
hashed with Argon2, so that is ample for an online guesser.
"""

from __future__ import annotations

import secrets

_WORD_TEXT = """
    apple river house table green window garden bread water music little happy summer
    winter yellow orange purple silver golden morning evening family friend school teacher
    doctor kitchen market street bridge mountain ocean island forest flower tiger rabbit
    horse turtle eagle pigeon candle pencil paper letter basket button rocket planet
    comet cloud thunder rainbow sunny quiet gentle brave honest simple strong bright
    coffee butter cookie honey lemon mango banana cherry carrot potato tomato onion pepper
    guitar piano violin drum dance story poem picture camera travel ticket pocket wallet
    jacket blanket pillow mirror ladder hammer wheel engine farmer baker sailor pilot
    castillo manzana arbol casa mesa ventana jardin pan agua musica feliz verano invierno
    amarillo naranja morado plata dorado manana tarde familia amigo escuela maestro
    cocina mercado calle puente montana isla bosque flor conejo caballo tortuga aguila
    paloma vela lapiz papel carta canasta boton cohete planeta nube trueno arcoiris
    tranquilo valiente sencillo fuerte brillante cafe galleta miel limon cereza zanahoria
    papa tomate cebolla guitarra tambor baile cuento poema camara viaje boleto bolsillo
    cartera chaqueta cobija almohada espejo escalera martillo rueda granja panadero
    marinero piloto luna sol estrella camino ciudad pueblo rio lago playa arena piedra
    cielo tierra fuego viento lluvia nieve hoja rama semilla fruta leche queso huevo
    sopa arroz frijol maiz harina azucar sal plato vaso cuchara tenedor silla cama puerta
    llave reloj libro cuaderno mochila zapato camisa sombrero gorra bufanda guante
    anillo collar perla corona bandera globo regalo fiesta juego pelota cometa barco
    tren avion carro bicicleta camion parque museo teatro torre faro molino
"""
WORDS = tuple(_WORD_TEXT.split())


def generate_passphrase(word_count: int = 4) -> str:
    words = [secrets.choice(WORDS) for _position in range(word_count)]
    return "-".join([*words, str(10 + secrets.randbelow(90))])
