"""Given-name families: nicknames, diminutives, transliterations and cross-language forms.

One line per family: the canonical name, a colon, then every other form that should resolve to
it. Spellings may carry accents or capitals; the loader keys them with the same folding as the
data (see names.py), so "José" and "jose" are one entry. When a form appears in two families the
first line wins, so put the more common reading first.

Covers English, Spanish, Portuguese, French, German, Italian, Dutch, Polish, Czech, Russian and
Ukrainian usage. Masculine and feminine forms that share diminutives ("Alex", "Chris", "Sam")
share a family: the diminutive alone cannot tell them apart. Extend it freely; a test checks that
every family resolves to itself, and that no form the maintained source adds collides, once
keyed, with another form (ours or its own).

Beside it, the maintained source: the ``nicknames`` package (a hand-curated table of English
given names and their nicknames, about 1,400 nicknames of 1,100 names, kept up upstream), which
knows far more English diminutives than a table we keep by hand ("Tiff", "Judi", "Winnet"). Our
table wins where both know a form; a nickname the package gives to names of two different
families ("Ron": Aaron, Ronald, Veronica) is left out, as a diminutive that cannot say which
name it stands for; its full names join our family when we have one ("Nole" -> nicholas).
"""

from __future__ import annotations

from functools import lru_cache

_FAMILIES = """
william: bill billy billie will willy willie wil liam wills guillermo memo guille guillaume guilherme wilhelm willem wim guglielmo vilhelm wiliam
robert: bob bobby bobbie rob robbie robby bert roberto beto tito robin rupert robbert
richard: rick ricky rich richie dick dickie ricardo rico ricard riccardo ryszard rysiek
james: jim jimmy jimmie jamie jem diego santiago jaime jacques jakob jacob jake jakub kuba jacopo giacomo
john: johnny jack jackie jon jonny juan juanito juanjo jean joao joão johann johannes hans hannes jan janek giovanni gianni ivan vanya vanja ian sean shaun shawn evan iain
joseph: joe joey jose josé pepe pepito chepe jo giuseppe beppe peppe pino josef józef jozef józek osip josip jupp sepp
francisco: paco pancho curro fran frank frankie francis francesco franco cisco kiko frances françois francois franz franciszek franek francesca francisca paquita franziska françoise francoise chico
alexander: alex alec alek alexa alexis sasha sacha sascha shura sanya sandro alessandro alejandro alexandre alexandr aleksandr aleksander oleksandr olek olek alexandra aleksandra alessandra alejandra xander lex alasdair alastair alistair sandy sandi
dmitry: dima dimitri dimitry dmitri dmitriy dmitrii dymitr dimitrios mitya dimka
michael: mike mikey mick micky mickey mitch miguel michel michele michal michał mikhail mihail misha mischa miša michiel mikael mikkel mikko maik mykhailo
nicholas: nick nicky nico nicolas nicolás nicola nicolo niccolò nikolai nikolay nikola mikolaj mikołaj klaus niklas kolya nicole nicoletta colin
margaret: peggy peg maggie meg megan margie marge madge greta gretchen margarita marguerite margarida margherita małgorzata malgorzata gosia rita daisy margot maisie
elizabeth: liz lizzie lizzy beth betty bette betsy bess bessie eliza elisa elise elisabeth elisabetta isabel isabella isabelle isabela izabela elżbieta elzbieta ela liesl lisa libby lilibet ellie elsa ilse babette lisette
katherine: kate katie katy kathy kat kath kathryn catherine catharine cathy cat kitty kit katharina katarina katarzyna kasia katrin katja katya katerina ekaterina yekaterina catalina catarina caterina caterina karen kay trina
christopher: chris chrissy christoph christophe cristóbal cristobal cristoforo krzysztof krzys kit topher christian cristian christiaan kristian christina christine kristina kristine kristin kirsten cristina krystyna tina chrissie
samuel: sam sammy samantha sami
patrick: pat patty patsy paddy patricio patrício patrice patricia patrizia tricia trish patrycja
daniel: dan danny dani daniela daniella danielle dany danila daniil danilo
anthony: tony toni antonio antoine anton antonín antonin antoni antek antonia antonella toño tonio
andrew: andy drew andre andré andrés andres andreas andrea andrzej andrej andrey andrei andriy andrii ander dries anders
thomas: tom tommy thom tomás tomas tomasz tomek tommaso tomaso thoma foma toma
edward: ed eddie eddy ted teddy ned eduardo eduard édouard edouard edoardo edvard
benjamin: ben benny benji benjamín beniamino
matthew: matt matty mateo matteo mateus mathieu matthieu mathias matthias matías matias mateusz matvey matvei maciej
nathaniel: nate nat nathan natan
jonathan: jonny jon jono
steven: steve stevie stephen stefan stephan stéphane stephane esteban estevão estevao stefano stepan stepa szczepan stefanie stephanie stefania estefania steph
timothy: tim timmy timo timoteo timothée timothee tymoteusz timofey
joshua: josh
zachary: zach zack zak zac
gregory: greg gregor gregorio grégoire gregoire grzegorz grisha grigory
jeffrey: jeff geoffrey geoff jeffery
kenneth: ken kenny
lawrence: larry laurence lorenzo laurent lars lorenz wawrzyniec
leonard: leo leon lenny len leonardo léonard leonhard
peter: pete petey pedro pierre pietro piotr petr pyotr petya peter piet pieter petrus
paul: paulie pablo paulo paolo pavel pasha paweł pawel paula paulina pauline paola
charles: charlie chuck chas carl karl carlos carlitos charly carlo karol carles charlotte carla carolina caroline karolina carol lottie
david: dave davey davy dai davide davi dawid davit
henry: hank harry hal enrique quique henri heinrich heinz enrico henrik henryk
donald: don donnie
ronald: ron ronnie
raymond: ray raimundo ramon ramón raymundo raimondo
gerald: gerry jerry gerard gerardo gérard jerome
walter: walt wally
frederick: fred freddie freddy fritz federico friedrich frederic frédéric fryderyk
albert: al bert alberto albrecht albercik
alfred: alfie fred alfredo
arthur: art artie arturo artur
harold: harry hal
eugene: gene eugenio eugen evgeny evgeni yevgeny yevgeniy zhenya evgenia eugenia
vladimir: vlad vova volodya volodymyr wladimir włodzimierz wlodzimierz
sergey: sergei sergej sergiy serhii serhiy sergio serge seryozha serezha sergiusz
alexey: alexei aleksei aleksey alyosha lyosha oleksii oleksiy alexej
konstantin: kostya constantin constantine konstantinos kostas costa konstanty
yuri: yury yuriy yurii jurij juri yura
george: georg georges jorge jorgito jordi giorgio georgios yegor egor jerzy jurek
anatoly: tolya anatoli anatolii
boris: borya
maxim: max maks maksim maksym maxime massimo maximilian maximiliano maximilien maksymilian maxwell
roman: roma romek romain romano
natalia: natasha natascha nata natalya natalie nathalie natália natalija
anastasia: nastya stasya anastasija
maria: mary mari marie mariya masha marusya maría mariela marija marianne mariana mariah maja mia molly polly mamie manon marylou
anna: ann anne annie anya anja ania anka ana anita nan nancy hanna hannah hanne annika
olga: olya
tatiana: tanya tatyana tania tatjana
svetlana: sveta lana
elena: lena helen helena helene hélène ellen elaine eleanor ellie nell nellie alena alenka jelena yelena olena
irina: ira irena irene irène ireen
yulia: julia yuliya julie juliette julieta giulia julija juli jules
julian: julio julien giuliano julius juliusz
ludmila: lyuda mila ludmilla
manuel: manolo manu manny emanuel emmanuel emanuele immanuel
jesus: chucho chuy
ignacio: nacho iñaki ignatius ignacy ignace
fernando: nando fer ferdinand ferdinando
rafael: rafa raffaele rafał rafal raphael raphaël rafe
alfonso: poncho alphonse alfons
gonzalo: gonza
guadalupe: lupe lupita
dolores: lola loli
concepcion: concha conchita
consuelo: chelo
rosario: charo
mercedes: merche
asuncion: chon
teresa: tere teri terry theresa therese thérèse tessa tess terezinha resi
josefina: pepa pepita josephine josefa jozefina josefine jo
luis: lucho luigi louis lewis ludwig ludovic ludovico luiz lou ludwik
sebastian: seba sebastián sebastiano sébastien sebastien basti sebastião bastian
felipe: pipe philip phil philippe filip filippo felip philipp
gabriel: gabe gabi gaby gabriele gabriela gabriella gabrielle gavriil gavril
luciano: lucho
rodrigo: rodri
leonor: nora leonora
vicente: chente vincent vince vinnie vincenzo enzo wincenty
emilie: emily emilia emmie emilio emil emile émile
wolfgang: wolf
jurgen: jürgen juergen jorg jörg joerg
gottfried: gotti
ulrich: ulli uli
bernhard: bernd bernie bernard bernardo bernat
gunther: günther gunter günter guenter guenther
salvatore: toto turi
vittorio: victor viktor vitya vitek wiktor vic
stanislaw: stanisław stas staś stanislav stanley stan
wojciech: wojtek
przemyslaw: przemysław przemek
bartholomew: bart bartek bartosz bartłomiej bartlomiej bartolomeo bartolome
lukas: łukasz lukasz luke lucas lucas luca luka lukas luc
agnieszka: aga agnes agnès ines inés ines inez
jadwiga: jadzia hedwig
zbigniew: zbyszek
kazimierz: kazik casimir
marek: mark marc marco marcos marcus markus
martin: marty martín martino marcin
susan: sue susie suzy suzanne susanne susana zuzanna zuzana zsuzsanna
deborah: deb debbie debra
jennifer: jen jenny jenn jenna
jessica: jess jessie
rebecca: becky becca rebeca rebekah
victoria: vicky vicki tori viktoria wiktoria
abigail: abby abbie gail
amanda: mandy manda
barbara: barb barbie babs basia
dorothy: dot dottie dolly dorothea dorota
judith: judy jude
kimberly: kim kimberley
melissa: mel missy lissa
pamela: pam
sarah: sara sadie sally zara
cynthia: cindy
virginia: ginny ginger
louise: lou louisa luisa luise lulu
florence: flo flossie florencia
harriet: hattie
jacqueline: jackie jacky jacquelyn
joanna: joan joanne jo johanna juana joana giovanna ivana janina jeanne jeannette jeanette
lauren: laura laurie lori lora
madeleine: madeline maddie maddy madelyn magdalena magda magdalene
veronica: ronnie veronika weronika véronique veronique
allison: alison ali allie
cassandra: cassie cass
cameron: cam
douglas: doug
dominic: dom dominik domenico domingo dominique
elijah: eli
jeremy: jerry jeremiah jeremias jérémie
leslie: les
marvin: marv
mitchell: mitch
oliver: ollie olivier oliviero olivia liv
reginald: reg reggie
russell: russ rusty
sylvester: sly
theodore: ted teddy theo teodoro teodor fyodor fedor fedya feodor
valentin: valya valentina valentine valentino walenty
wesley: wes
"""


def own_pairs() -> list[tuple[str, str]]:
    """(form, canonical) for every form of every family of our table, in table order."""
    pairs: list[tuple[str, str]] = []
    for line in _FAMILIES.strip().splitlines():
        canonical, _, rest = line.partition(":")
        canonical = canonical.strip()
        if not canonical:
            continue
        for form in rest.split():
            pairs.append((form, canonical))
        pairs.append((canonical, canonical))
    return pairs


def maintained_version() -> str:
    """The maintained source's version: a new one changes name families, so features built
    with the old one are rebuilt (``profile_snapshot_id``)."""
    from nicknames import __version__

    return str(__version__)


def maintained_pairs(own: dict[str, str]) -> list[tuple[str, str]]:
    """(form, family) from the maintained source for the forms ``own`` (form -> family) lacks.

    Only a nickname joins a family, and only when every full name it stands for falls in one
    family (the full name's own in our table where we have one, else the full name). A name the
    package lists as a full name keeps its own family even where it also calls it a nickname of
    another ("Amelia" of "Parmelia"): following such chains merged names nobody would confuse,
    and it keeps every family resolving to itself (the lookup is a single pass).
    """
    from nicknames import NickNamer

    namer = NickNamer()
    full_names = set(namer.nickname_lookup)  # full name -> its nicknames
    out: list[tuple[str, str]] = []
    for form, full in sorted(namer.canonical_lookup.items()):  # nickname -> its full names
        # "l.b." (Littleberry) would key to the bare initial "l": only a word of two letters
        # or more is a nickname a record can carry
        if form in own or form in full_names or not (form.isalpha() and len(form) >= 2):
            continue
        families = {own.get(name, name) for name in full}
        if len(families) == 1:
            out.append((form, families.pop()))
    return out


@lru_cache(maxsize=1)
def nickname_pairs() -> list[tuple[str, str]]:
    """(form, canonical) for every form of every family: our table in its order (first wins),
    then the maintained source's forms it lacks (``maintained_pairs``)."""
    pairs = own_pairs()
    own: dict[str, str] = {}
    for form, canonical in pairs:
        own.setdefault(form, canonical)
    return pairs + maintained_pairs(own)
