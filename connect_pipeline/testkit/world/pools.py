"""The fixed vocabularies a world is drawn from: names, nicknames, companies, titles, places.

Kept as plain data so the generator stays vectorised: every pool is an ordered list whose order is
also its popularity (a Zipf weight by rank), which is what makes common names repeat hundreds of
times in a large index. A name entry "A|B|C" lists spellings of one name (transliteration
variants); accent-free spellings are added automatically, because an ATS typed on a US keyboard
loses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from unidecode import unidecode

# --------------------------------------------------------------------------- names by culture


@dataclass(frozen=True)
class Culture:
    name: str
    weight: float
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    countries: tuple[tuple[str, float], ...]  # ISO codes with weights
    first_zipf: float = 0.7
    last_zipf: float = 0.6
    swap_rate: float = 0.02  # how often an ATS puts the family name first


def _t(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


CULTURES: tuple[Culture, ...] = (
    Culture(
        "english", 0.28,
        _t("James, Mary, John, Patricia, Robert, Jennifer, Michael, Linda, William, Elizabeth, David, "
           "Barbara, Richard, Susan, Joseph, Jessica, Thomas, Sarah, Charles, Karen, Christopher, Nancy, "
           "Daniel, Lisa, Matthew, Margaret, Anthony, Betty, Mark, Sandra, Donald, Ashley, Steven, "
           "Kimberly, Paul, Emily, Andrew, Donna, Joshua, Michelle, Kenneth, Dorothy, Kevin, Carol, "
           "Brian, Amanda, George, Melissa, Edward, Deborah, Katherine, Rebecca, Alexander, Samantha, "
           "Benjamin, Victoria, Nicholas, Catherine, Jonathan, Christine, Timothy, Rachel, Peter, "
           "Olivia, Henry, Abigail, Jacob, Emma, Zoë, Renée"),
        _t("Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, "
           "Moore, Jackson, Martin, Lee, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young, "
           "Allen, King, Wright, Scott, Hill, Green, Adams, Baker, Nelson, Carter, Mitchell, Roberts, "
           "Turner, Phillips, Campbell, Parker, Evans, Edwards, Collins, Stewart, Morris, Murphy, Cook, "
           "Rogers, Morgan, Cooper, Peterson, Reed, Bailey, Kelly, Howard, O'Brien, O'Connor, "
           "McDonald|MacDonald, MacLeod, Fitzgerald, Sullivan, Bennett, Hughes, Price, Watson"),
        (("US", 0.62), ("GB", 0.2), ("CA", 0.08), ("AU", 0.06), ("IE", 0.04)),
    ),
    Culture(
        "iberian", 0.12,
        _t("José, María, Juan, Ana, Francisco, Carmen, Antonio, Lucía, Manuel, Sofía, Javier, Isabel, "
           "Alejandro, Laura, Jesús, Marta, Miguel, Paula, Pedro, Elena, Luis, Cristina, Carlos, "
           "Beatriz, Sebastián, Valentina, Andrés, Camila, João, Inês, Gonçalo, Fernando, Mariana, "
           "Raúl, Ramón, Joaquín, Álvaro, Íñigo, Rocío, Guillermo, Ignacio, Jorge, Gabriela, Rafael, "
           "Adriana"),
        _t("García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez, Martín, "
           "Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Alonso, Gutiérrez, Navarro, "
           "Torres, Domínguez, Vázquez|Vásquez, Ramos, Gil, Ramírez, Serrano, Blanco, Suárez, Silva, "
           "Santos, Oliveira, Souza|Sousa, Pereira, Costa, Carvalho, Almeida, Gonçalves, Araújo, Ribeiro, "
           "Magalhães, Peña, Ibáñez, Castro, Ortiz, García López, Martínez Ruiz"),
        (("ES", 0.35), ("MX", 0.25), ("BR", 0.2), ("AR", 0.08), ("PT", 0.07), ("US", 0.05)),
    ),
    Culture(
        "french", 0.07,
        _t("Jean, Marie, Pierre, Nathalie, Michel, Isabelle, Philippe, Sylvie, Alain, Catherine, "
           "Nicolas, Sophie, François, Céline, Stéphane, Hélène, Frédéric, Valérie, Jérôme, Émilie, "
           "Sébastien, Aurélie, Thierry, Chloé, Laurent, Camille, Julien, Léa, Benoît, Océane, Gérard, "
           "Mathilde, Olivier, Manon, Théo, Amélie, Hugo, Clémence, Jean-Pierre, Marie-Claire"),
        _t("Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, "
           "Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, Morel, Girard, "
           "André, Lefebvre, Mercier, Dupont, Lambert, Bonnet, François, Legrand, Garnier, Faure, "
           "Rousseau, Blanc, Guérin, Muller, Henry, Roussel, Perrin, Morin, Mathieu, Clément, Gauthier, "
           "Dumont, Fontaine, Chevalier, Robin, Béranger, Hébert"),
        (("FR", 0.8), ("CA", 0.1), ("CH", 0.05), ("GB", 0.05)),
    ),
    Culture(
        "german", 0.07,
        _t("Johannes, Jürgen, Klaus, Ursula, Hans, Stefan, Andreas, Sabine, Michael, Monika, Thomas, "
           "Petra, Wolfgang, Karin, Uwe, Birgit, Jörg, Gisela, Günter|Günther, Brigitte, Matthias, Claudia, "
           "Frank, Susanne, Dieter, Anja, Björn, Jana, Lukas, Käthe, Sören, Mareike, Florian, Lena, "
           "Maximilian, Jonas, Lea, Felix, Lisa, Tobias, Anna, Jan, Katharina, Sebastian, Julia"),
        _t("Müller, Schmidt, Schneider, Fischer, Weber, Meyer|Meier|Maier|Mayer, Wagner, Becker, Schulz, "
           "Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, "
           "Zimmermann, Braun, Krüger, Hofmann, Hartmann, Lange, Schmitt, Werner, Schmitz, Krause, "
           "Lehmann, Schmid, Schulze, Köhler, Herrmann, König, Walter, Huber, Kaiser, Fuchs, Peters, "
           "Lang, Scholz, Möller, Weiß, Jung, Hahn, Vogel, Günther, Groß, Strauß, Jäger, Böhm"),
        (("DE", 0.8), ("AT", 0.1), ("CH", 0.07), ("US", 0.03)),
    ),
    Culture(
        "polish", 0.04,
        _t("Łukasz, Piotr, Anna, Krzysztof, Maria, Tomasz, Katarzyna, Paweł, Małgorzata, Michał, "
           "Agnieszka, Marcin, Barbara, Jakub, Ewa, Grzegorz, Magdalena, Mateusz, Joanna, Wojciech, "
           "Aleksandra, Kamil, Monika, Rafał, Dorota, Maciej, Zofia, Przemysław, Bożena, Jarosław, "
           "Jolanta, Sławomir, Iwona, Dawid, Beata"),
        _t("Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, Zieliński, "
           "Szymański, Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur, Kwiatkowski, Krawczyk, "
           "Piotrowski, Grabowski, Nowakowska, Pawłowski, Michalski, Król, Wieczorek, Jabłoński, "
           "Wróbel, Nowicki, Majewski, Olszewski, Stępień, Malinowski, Jaworski, Adamczyk, Dudek, "
           "Górski, Pawlak, Witkowski, Walczak, Sikora, Baran, Kowalska, Wiśniewska, Szewczyk, "
           "Ostrowski, Tomaszewski, Zalewski, Wróblewski, Jasiński, Błaszczyk, Głowacki"),
        (("PL", 0.85), ("DE", 0.08), ("GB", 0.07)),
    ),
    Culture(
        "vietnamese", 0.04,
        _t("Anh, Minh, Linh, Huy, Trang, Hùng, Thảo, Tuấn, Hương, Dũng, Lan, Nam, Phương, Quang, Hà, "
           "Đức, Mai, Long, Ngọc, Thành, Hoa, Khoa, Thu, Bảo, Vy, Phúc, Tâm, Hải, Yến, Việt"),
        _t("Nguyễn, Trần, Lê, Phạm, Hoàng, Huỳnh, Phan, Vũ, Võ, Đặng, Bùi, Đỗ, Hồ, Ngô, Dương, Lý"),
        (("VN", 0.7), ("US", 0.2), ("AU", 0.05), ("FR", 0.05)),
        first_zipf=0.8, last_zipf=1.3, swap_rate=0.08,
    ),
    Culture(
        "chinese", 0.12,
        _t("Wei, Jing, Li, Min, Jun, Yan, Hui, Ying, Lei, Xin, Hao, Yu, Fang, Jie, Tao, Ming, Qiang, "
           "Xiaoming|Xiao Ming|Xiao-Ming, Yifan, Zihan, Haoran|Hao Ran, Yuxuan, Xinyi|Xin Yi, Jiahui, "
           "Chen, Yang, Lin, Na, Ping, Xiu, Yong, Bo, Kai, Rui, Shu, Ting, Jian, Feng, Zhen"),
        _t("Wang|Wong, Li|Lee, Zhang|Chang|Cheung, Liu|Lau, Chen|Chan, Yang|Yeung, Huang|Wong, Zhao|Chiu, "
           "Wu|Ng, Zhou|Chow, Xu|Hsu, Sun, Ma, Zhu|Chu, Hu, Guo|Kuo, He|Ho, Lin|Lam, Gao|Kao, "
           "Luo|Lo, Zheng|Cheng, Liang|Leung, Xie|Hsieh, Song, Tang, Han, Feng, Deng, Cao, Peng, "
           "Zeng|Tseng, Xiao|Hsiao, Tian, Dong, Pan, Yuan, Cai|Tsai, Jiang|Chiang, Yu"),
        (("CN", 0.6), ("US", 0.2), ("SG", 0.08), ("CA", 0.06), ("GB", 0.06)),
        first_zipf=0.9, last_zipf=1.0, swap_rate=0.1,
    ),
    Culture(
        "indian", 0.14,
        _t("Rahul, Priya, Amit, Anjali, Rajesh, Sunita, Vikram, Pooja, Suresh, Neha, Arjun, Deepika, "
           "Sanjay, Kavita, Anil, Shreya, Ravi, Lakshmi, Karthik|Kartik, Divya, Aditya, Ananya, Rohan, "
           "Meera, Vijay, Sneha, Manoj, Swati, Nikhil, Aishwarya, Srinivas|Shrinivas|Sreenivas, "
           "Venkatesh, Mohammed, Harpreet, Gurpreet"),
        _t("Sharma, Patel, Singh, Kumar, Gupta, Reddy, Iyer, Nair, Rao, Mehta, Shah, Joshi, Verma, "
           "Agarwal|Aggarwal|Agrawal, Chatterjee, Banerjee, Mukherjee, Das, Bose, Menon, Pillai, "
           "Krishnan, Subramanian, Chowdhury|Choudhury|Chaudhary, Desai, Kapoor, Malhotra, Bhat, Naidu, "
           "Srinivasan, Jain, Yadav, Mishra, Pandey, Saxena"),
        (("IN", 0.75), ("US", 0.15), ("GB", 0.05), ("AE", 0.05)),
        first_zipf=0.8, last_zipf=0.9,
    ),
    Culture(
        "arabic", 0.05,
        _t("Mohammed|Muhammad|Mohamed|Mohammad, Ahmed|Ahmad, Ali, Omar|Umar, Fatima|Fatma, "
           "Aisha|Ayesha, Hassan|Hasan, Hussein|Hussain|Husain, Khalid|Khaled, Youssef|Yusuf|Yousef, "
           "Ibrahim, Abdullah, Mariam|Maryam, Nour|Noor, Layla|Leila, Zainab|Zaynab, Tariq|Tarek, "
           "Karim|Kareem, Samir|Sameer, Rania, Hana, Amir|Ameer, Salma, Rashid|Rashed"),
        _t("Al-Sayed|El-Sayed|Elsayed, Haddad, Khoury|Khouri, Nasser|Nasr, Hassan, Ibrahim, "
           "Mansour|Mansur, Saleh|Salih, Abdallah|Abdullah, Al-Farsi, Al-Rashid, Karam, Aziz, Hamdan, "
           "Farouk|Farooq, Mahmoud|Mahmud, Qasim|Kassem, Bakr, Al-Amin, Zayed, Khalil, "
           "Suleiman|Sulaiman, Darwish, Othman|Osman"),
        (("AE", 0.35), ("EG", 0.3), ("SA", 0.2), ("GB", 0.08), ("FR", 0.07)),
        first_zipf=1.0,
    ),
    Culture(
        "russian", 0.07,
        _t("Aleksandr|Alexander|Alexandr|Aleksander, Dmitry|Dmitriy|Dmitri|Dmitrii, Sergey|Sergei, "
           "Andrey|Andrei, Alexey|Aleksei|Alexei|Aleksey, Ivan, Mikhail|Michail, Nikolay|Nikolai, "
           "Vladimir, Yuri|Yury|Iurii|Yuriy, Pavel, Maxim|Maksim, Ekaterina|Yekaterina, "
           "Natalia|Natalya|Nataliya, Tatiana|Tatyana|Tatjana, Olga, Elena|Yelena|Jelena, "
           "Anastasia|Anastasiya, Svetlana, Irina, Yulia|Julia|Iuliia|Yuliya, Anna, Maria|Mariya, "
           "Ksenia|Kseniya|Xenia, Evgeny|Evgeniy|Yevgeny"),
        _t("Ivanov, Smirnov, Kuznetsov, Popov, Vasiliev|Vasilyev|Vasilev, Petrov, Sokolov, "
           "Mikhailov|Mikhaylov, Novikov, Fedorov|Fyodorov|Fedoroff, Morozov, Volkov, "
           "Alekseev|Alexeev|Alekseyev, Lebedev, Semenov|Semyonov, Egorov|Yegorov, Pavlov, Kozlov, "
           "Stepanov, Nikolaev|Nikolayev, Orlov, Andreev|Andreyev, Makarov, Zaitsev|Zaytsev, "
           "Solovyov|Soloviev, Tchaikovsky|Chaikovsky, Ivanova, Smirnova, Kuznetsova"),
        (("RU", 0.75), ("DE", 0.08), ("US", 0.1), ("GB", 0.07)),
    ),
)

# Diminutives, keyed by the formal name (every spelling of a group shares them).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy", "Liam"), "Robert": ("Bob", "Rob", "Bobby"),
    "Katherine": ("Kate", "Katie", "Kathy"), "Catherine": ("Cathy", "Kate", "Cat"),
    "Alexander": ("Alex", "Sasha", "Xander"), "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Richard": ("Rick", "Dick", "Rich"), "James": ("Jim", "Jimmy", "Jamie"),
    "Michael": ("Mike", "Mikey"), "Christopher": ("Chris", "Kit"), "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe", "Joey"), "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",),
    "Anthony": ("Tony",), "Steven": ("Steve",), "Andrew": ("Andy", "Drew"), "Joshua": ("Josh",),
    "Kenneth": ("Ken", "Kenny"), "Edward": ("Ed", "Ted", "Eddie"), "Benjamin": ("Ben", "Benji"),
    "Nicholas": ("Nick", "Nico"), "Jonathan": ("Jon", "Jonny"), "Timothy": ("Tim",),
    "Peter": ("Pete",), "Jennifer": ("Jen", "Jenny"), "Patricia": ("Pat", "Trish", "Patty"),
    "Margaret": ("Maggie", "Peggy", "Meg"), "Rebecca": ("Becky", "Becca"), "Samantha": ("Sam",),
    "Victoria": ("Vicky", "Tori"), "Christine": ("Chris", "Tina"), "Abigail": ("Abby",),
    "Deborah": ("Debbie", "Deb"), "Kimberly": ("Kim",), "Susan": ("Sue", "Suzy"),
    "Dorothy": ("Dot", "Dottie"), "Charles": ("Charlie", "Chuck"), "Henry": ("Harry", "Hank"),
    "Jacob": ("Jake",), "Donald": ("Don",), "Olivia": ("Liv",), "Emily": ("Em",),
    "José": ("Pepe",), "Francisco": ("Paco", "Pancho", "Fran"), "Alejandro": ("Alex", "Ale"),
    "Guillermo": ("Memo", "Guille"), "Ignacio": ("Nacho",), "Jesús": ("Chuy",),
    "Manuel": ("Manolo",), "Antonio": ("Toño", "Toni"), "Rafael": ("Rafa",),
    "Johannes": ("Hans", "Jo"), "Matthias": ("Matze",), "Maximilian": ("Max",),
    "Katharina": ("Kathi", "Katja"), "Wolfgang": ("Wolf",), "Sebastian": ("Basti",),
    "Aleksandr": ("Sasha", "Alex"), "Dmitry": ("Dima",), "Ekaterina": ("Katya", "Kate"),
    "Natalia": ("Natasha",), "Mikhail": ("Misha",), "Evgeny": ("Zhenya", "Eugene"),
    "Anastasia": ("Nastya",), "Ivan": ("Vanya",), "Maria": ("Masha",), "Yulia": ("Julia",),
    "Łukasz": ("Luke",), "Krzysztof": ("Chris",), "Małgorzata": ("Gosia",),
    "Aleksandra": ("Ola",), "Mohammed": ("Mo",), "Abdullah": ("Abdul",),
    "Venkatesh": ("Venkat",), "Srinivas": ("Srini",), "François": ("Franck",),
    "Jean-Pierre": ("JP",), "Nikhil": ("Nik",),
}

GERMAN_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def spellings(entry: str) -> tuple[str, ...]:
    """Every spelling of a name entry: the listed ones, then their accent-free forms."""
    listed = [s.strip() for s in entry.split("|")]
    out = list(dict.fromkeys(listed))
    for s in listed:
        for folded in (s.translate(GERMAN_FOLD), unidecode(s)):
            if folded not in out:
                out.append(folded)
    return tuple(out)


@lru_cache(maxsize=None)
def nicknames_for(name: str) -> tuple[str, ...]:
    """Diminutives of a formal name, whatever spelling or accents it carries."""
    if name in NICKNAMES:
        return NICKNAMES[name]
    folded = unidecode(name)
    for formal, nicks in NICKNAMES.items():
        if unidecode(formal) == folded:
            return nicks
    return ()


FORMAL_OF: dict[str, str] = {}
for _formal, _nicks in NICKNAMES.items():
    for _nick in _nicks:
        FORMAL_OF.setdefault(_nick, _formal)

# --------------------------------------------------------------------------- places and phones


@dataclass(frozen=True)
class Country:
    iso: str
    name: str
    cities: tuple[tuple[str, str], ...]  # (city, region), most populous first
    cc: str  # calling code
    trunk: str  # national trunk prefix ("0" in most of Europe, "" in NANP)
    # national significant numbers: (fixed prefix, random digits, grouping of the full number)
    numbers: tuple[tuple[str, int, tuple[int, ...]], ...] = field(default=())


def _cities(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in text.split(";"):
        city, region = item.split("/")
        pairs.append((city.strip(), region.strip()))
    return tuple(pairs)


COUNTRIES: dict[str, Country] = {c.iso: c for c in (
    Country("US", "United States", _cities(
        "San Francisco/California; New York/New York; Seattle/Washington; Austin/Texas; "
        "Chicago/Illinois; Boston/Massachusetts; Los Angeles/California; Denver/Colorado; "
        "Atlanta/Georgia; Miami/Florida; San Jose/California; Portland/Oregon"),
        "1", "", (("415", 7, (3, 3, 4)), ("212", 7, (3, 3, 4)), ("206", 7, (3, 3, 4)),
                  ("512", 7, (3, 3, 4)), ("312", 7, (3, 3, 4)), ("617", 7, (3, 3, 4)),
                  ("310", 7, (3, 3, 4)), ("720", 7, (3, 3, 4)))),
    Country("GB", "United Kingdom", _cities(
        "London/England; Manchester/England; Edinburgh/Scotland; Bristol/England; "
        "Cambridge/England; Birmingham/England; Leeds/England; Belfast/Northern Ireland"),
        "44", "0", (("207", 7, (2, 4, 4)), ("208", 7, (2, 4, 4)), ("77", 8, (4, 6)), ("79", 8, (4, 6)))),
    Country("CA", "Canada", _cities(
        "Toronto/Ontario; Vancouver/British Columbia; Montréal/Quebec; Ottawa/Ontario"),
        "1", "", (("416", 7, (3, 3, 4)), ("604", 7, (3, 3, 4)), ("514", 7, (3, 3, 4)))),
    Country("AU", "Australia", _cities("Sydney/New South Wales; Melbourne/Victoria; Brisbane/Queensland"),
            "61", "0", (("4", 8, (3, 3, 3)), ("2", 8, (1, 4, 4)))),
    Country("IE", "Ireland", _cities("Dublin/Leinster; Cork/Munster; Galway/Connacht"),
            "353", "0", (("8", 8, (2, 3, 4)),)),
    Country("ES", "Spain", _cities(
        "Madrid/Community of Madrid; Barcelona/Catalonia; Valencia/Valencian Community; "
        "Sevilla/Andalusia; Bilbao/Basque Country"),
        "34", "", (("6", 8, (3, 3, 3)), ("91", 7, (2, 3, 2, 2)))),
    Country("MX", "Mexico", _cities("Ciudad de México/CDMX; Guadalajara/Jalisco; Monterrey/Nuevo León"),
            "52", "", (("55", 8, (2, 4, 4)), ("33", 8, (2, 4, 4)))),
    Country("BR", "Brazil", _cities(
        "São Paulo/São Paulo; Rio de Janeiro/Rio de Janeiro; Belo Horizonte/Minas Gerais; "
        "Florianópolis/Santa Catarina"),
        "55", "0", (("119", 8, (2, 5, 4)), ("219", 8, (2, 5, 4)))),
    Country("AR", "Argentina", _cities("Buenos Aires/Buenos Aires; Córdoba/Córdoba"),
            "54", "0", (("11", 8, (2, 4, 4)),)),
    Country("PT", "Portugal", _cities("Lisboa/Lisbon; Porto/Porto"), "351", "",
            (("91", 7, (3, 3, 3)), ("93", 7, (3, 3, 3)))),
    Country("FR", "France", _cities(
        "Paris/Île-de-France; Lyon/Auvergne-Rhône-Alpes; Marseille/Provence-Alpes-Côte d'Azur; "
        "Toulouse/Occitanie; Nantes/Pays de la Loire; Bordeaux/Nouvelle-Aquitaine"),
        "33", "0", (("6", 8, (1, 2, 2, 2, 2)), ("7", 8, (1, 2, 2, 2, 2)), ("1", 8, (1, 2, 2, 2, 2)))),
    Country("DE", "Germany", _cities(
        "Berlin/Berlin; München/Bavaria; Hamburg/Hamburg; Frankfurt am Main/Hesse; "
        "Köln/North Rhine-Westphalia; Stuttgart/Baden-Württemberg; Düsseldorf/North Rhine-Westphalia"),
        "49", "0", (("30", 8, (2, 8)), ("151", 8, (3, 8)), ("170", 8, (3, 8)), ("89", 8, (2, 8)))),
    Country("AT", "Austria", _cities("Wien/Vienna; Graz/Styria"), "43", "0", (("664", 7, (3, 7)),)),
    Country("CH", "Switzerland", _cities("Zürich/Zurich; Genève/Geneva; Basel/Basel-Stadt"),
            "41", "0", (("79", 7, (2, 3, 2, 2)), ("44", 7, (2, 3, 2, 2)))),
    Country("PL", "Poland", _cities(
        "Warszawa/Masovian; Kraków/Lesser Poland; Wrocław/Lower Silesian; Gdańsk/Pomeranian; "
        "Poznań/Greater Poland; Łódź/Łódź"),
        "48", "", (("5", 8, (3, 3, 3)), ("6", 8, (3, 3, 3)), ("7", 8, (3, 3, 3)))),
    Country("VN", "Vietnam", _cities("Hồ Chí Minh/Ho Chi Minh City; Hà Nội/Hanoi; Đà Nẵng/Da Nang"),
            "84", "0", (("9", 8, (2, 3, 4)), ("3", 8, (2, 3, 4)))),
    Country("CN", "China", _cities(
        "Beijing/Beijing; Shanghai/Shanghai; Shenzhen/Guangdong; Hangzhou/Zhejiang; "
        "Guangzhou/Guangdong; Chengdu/Sichuan"),
        "86", "0", (("13", 9, (3, 4, 4)), ("15", 9, (3, 4, 4)), ("18", 9, (3, 4, 4)))),
    Country("SG", "Singapore", _cities("Singapore/Singapore"), "65", "", (("9", 7, (4, 4)), ("8", 7, (4, 4)))),
    Country("IN", "India", _cities(
        "Bengaluru/Karnataka; Mumbai/Maharashtra; Hyderabad/Telangana; Chennai/Tamil Nadu; "
        "Pune/Maharashtra; New Delhi/Delhi; Gurugram/Haryana"),
        "91", "0", (("98", 8, (5, 5)), ("99", 8, (5, 5)), ("70", 8, (5, 5)))),
    Country("AE", "United Arab Emirates", _cities("Dubai/Dubai; Abu Dhabi/Abu Dhabi"), "971", "0",
            (("50", 7, (2, 3, 4)), ("55", 7, (2, 3, 4)))),
    Country("EG", "Egypt", _cities("Cairo/Cairo; Alexandria/Alexandria; Giza/Giza"), "20", "0",
            (("10", 8, (2, 4, 4)), ("12", 8, (2, 4, 4)))),
    Country("SA", "Saudi Arabia", _cities("Riyadh/Riyadh; Jeddah/Makkah"), "966", "0",
            (("5", 8, (2, 3, 4)),)),
    Country("RU", "Russia", _cities(
        "Moscow/Moscow; Saint Petersburg/Saint Petersburg; Novosibirsk/Novosibirsk Oblast; "
        "Kazan/Tatarstan"),
        "7", "8", (("9", 9, (3, 3, 2, 2)),)),
)}

# Where people move to: a share of every culture lives in one of these instead.
MOBILITY: tuple[tuple[str, float], ...] = (("US", 0.5), ("GB", 0.2), ("DE", 0.1), ("CA", 0.1), ("SG", 0.1))
MOBILITY_RATE = 0.12

# Phone layouts: "{cc}" calling code, "{t}" trunk prefix, "{g}" the grouped national number
# joined by the separator after "g" ("{g }" "{g-}" "{g.}" "{g}" = no separator).
PHONE_TEMPLATES: tuple[str, ...] = (
    "+{cc} {g }", "+{cc}{g}", "00{cc} {g }", "{t}{g }", "+{cc} ({t}){g }", "{t}{g-}", "+{cc}-{g-}",
)
NANP_TEMPLATES: tuple[str, ...] = (
    "({a}) {b}-{c}", "{a}.{b}.{c}", "{a}-{b}-{c}", "+1 {a}-{b}-{c}", "1-{a}-{b}-{c}",
    "+1 ({a}) {b}-{c}", "+1{a}{b}{c}",
)

# --------------------------------------------------------------------------- companies and titles

LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    # canonical suffix -> how people also write it
    "Inc.": ("Inc", ", Inc.", "Incorporated", ", Inc"),
    "Corp": ("Corporation", "Corp.", ", Corp."),
    "Ltd": ("Limited", "Ltd.", ", Ltd"),
    "LLC": ("L.L.C.", ", LLC"),
    "GmbH": ("GmbH & Co. KG", "Gmbh"),
    "S.A.": ("SA", "S.A", "Sociedad Anónima"),
    "PLC": ("plc", "Public Limited Company"),
    "AG": ("A.G.",),
    "Sp. z o.o.": ("sp. z o.o.", "Spółka z o.o."),
    "": ("",),
}

NAMED_COMPANIES: tuple[tuple[str, str, str], ...] = (
    # (base, legal form, domain tld)
    ("Acme", "Corp", "com"), ("Globex", "Inc.", "com"), ("Initech", "", "com"),
    ("Umbrella", "Corp", "com"), ("Hooli", "", "com"), ("Stark Industries", "", "com"),
    ("Wayne Enterprises", "Inc.", "com"), ("Cyberdyne Systems", "Corp", "com"),
    ("Soylent", "Corp", "com"), ("Vandelay Industries", "", "com"), ("Wonka Industries", "Ltd", "co.uk"),
    ("Tyrell", "Corp", "com"), ("Massive Dynamic", "Inc.", "com"), ("Pied Piper", "Inc.", "com"),
    ("Dunder Mifflin", "Inc.", "com"), ("Gringotts", "PLC", "co.uk"), ("Oscorp", "", "com"),
    ("Nakatomi Trading", "Corp", "com"), ("Aperture Science", "Inc.", "com"),
    ("Black Mesa", "LLC", "com"), ("Monarch Solutions", "Ltd", "co.uk"),
    ("Schröder Logistik", "GmbH", "de"), ("Müller & Söhne", "GmbH", "de"), ("Weißbach Technik", "AG", "de"),
    ("Société Générale des Données", "S.A.", "fr"), ("Café Olé", "S.A.", "es"),
    ("Telefónica Digital", "S.A.", "es"), ("Łódź Software", "Sp. z o.o.", "pl"),
    ("Kraków Code Works", "Sp. z o.o.", "pl"), ("Infosys Global", "Ltd", "in"),
    ("Tata Cloud Services", "Ltd", "in"), ("Sàigòn Tech", "", "vn"), ("Huawen Data", "", "cn"),
    ("Yandex Labs", "LLC", "ru"), ("Emirates Digital", "LLC", "ae"), ("Nile Fintech", "", "eg"),
    ("Banco Açores", "S.A.", "pt"), ("Mercado Rápido", "S.A.", "ar"), ("Natura Brasil", "S.A.", "br"),
)
COMPANY_PREFIXES = _t(
    "North, Blue, Red, Silver, Bright, Summit, Pacific, Atlas, Nova, Vertex, Quantum, Iron, Cedar, "
    "Harbor, Pine, Apex, Lumen, Polar, Crystal, Golden, Green, Stone, River, Falcon, Orion, Zenith, "
    "Nimbus, Coral, Maple, Sierra, Delta, Echo, Helix, Kite, Lotus, Meridian, Onyx, Prism, Sable, Tidal")
COMPANY_SUFFIXES = _t(
    "Analytics, Systems, Labs, Dynamics, Networks, Health, Logistics, Capital, Software, Robotics, "
    "Bio, Energy, Foods, Media, Partners, Works, Cloud, Data, Motors, Pharma")
GENERATED_FORMS: tuple[str, ...] = ("Inc.", "Corp", "Ltd", "LLC", "", "", "Inc.", "")

TITLE_BASES = _t(
    "Software Engineer, Data Scientist, Product Manager, Backend Engineer, Frontend Engineer, "
    "Data Engineer, Machine Learning Engineer, DevOps Engineer, Site Reliability Engineer, "
    "Product Designer, Account Executive, Recruiter, Engineering Manager, Data Analyst, "
    "Business Analyst, Project Manager, Customer Success Manager, Marketing Manager, QA Engineer, "
    "Security Engineer, Solutions Architect, Sales Development Representative, "
    "Talent Acquisition Partner, HR Business Partner, Financial Analyst, Accountant, "
    "Operations Manager, UX Researcher, Content Strategist, Legal Counsel, Mechanical Engineer, "
    "Electrical Engineer, Supply Chain Analyst, Consultant, Registered Nurse, Teacher")
SENIORITY: tuple[str, ...] = ("", "Senior ", "Junior ", "Lead ", "Staff ", "Principal ")
SENIORITY_WEIGHTS: tuple[float, ...] = (0.47, 0.3, 0.08, 0.07, 0.05, 0.03)
TITLE_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("Senior ", "Sr. "), ("Junior ", "Jr. "), ("Engineer", "Eng."), ("Manager", "Mgr"),
    ("Software Engineer", "SWE"), ("Machine Learning", "ML"), ("Representative", "Rep"),
)

PERSONAL_DOMAINS: dict[str, tuple[str, ...]] = {
    "default": ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me"),
    "DE": ("gmx.de", "web.de", "gmail.com", "t-online.de"), "AT": ("gmx.at", "gmail.com"),
    "FR": ("orange.fr", "gmail.com", "free.fr", "laposte.net"), "ES": ("gmail.com", "hotmail.es"),
    "BR": ("gmail.com", "uol.com.br", "bol.com.br"), "MX": ("gmail.com", "hotmail.com"),
    "PL": ("wp.pl", "onet.pl", "gmail.com", "o2.pl"), "RU": ("mail.ru", "yandex.ru", "gmail.com"),
    "CN": ("qq.com", "163.com", "126.com", "gmail.com"), "IN": ("gmail.com", "rediffmail.com", "yahoo.co.in"),
    "VN": ("gmail.com", "yahoo.com.vn"), "GB": ("gmail.com", "btinternet.com", "yahoo.co.uk", "outlook.com"),
}
