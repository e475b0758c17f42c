/*
 * sim-gen.c: posgw-sim's invented ПОС content: the classifier, applicants,
 * addresses, appeal texts, attachments, feedback. Appeal i depends only on
 * (--seed, i) and the options, so the same seed gives the same appeals.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "sim.h"

#define SIM_GEN_INDENT "          " /* P:Appeal's children in the envelope */

struct sim_gen_sub {
	const char *code, *name;
	const char *problem[2];
};

struct sim_gen_cat {
	const char *code, *name;
	struct sim_gen_sub sub[4];
	const char *field; /* a custom field typical of the category */
};

/* The ПОС-like classifier: codes unique, names repeat ("Другое"). */
static const struct sim_gen_cat sim_gen_cats[] = {
    {"21", "Дороги",
        {{"2101", "Ямы и выбоины на дороге",
             {"на проезжей части образовалась глубокая яма, в неё уже "
              "попало несколько автомобилей",
                 "асфальт разрушен, выбоины по всей ширине дороги"}},
            {"2102", "Уборка снега и наледи",
                {"дорога не очищена от снега, машины буксуют",
                    "на тротуаре сильная наледь, ничем не посыпано, люди "
                    "падают"}},
            {"2103", "Светофоры и дорожные знаки",
                {"не работает светофор на пешеходном переходе",
                    "знак «Пешеходный переход» повален и не виден "
                    "водителям"}},
            {"2199", "Другое",
                {"разметка на дороге полностью стёрлась",
                    "на обочине брошен разбитый автомобиль"}}},
        "Госномер автомобиля"},
    {"22", "Жилищно-коммунальное хозяйство",
        {{"2201", "Отопление",
             {"в квартирах холодно, батареи еле тёплые",
                 "отопление не включено, хотя отопительный сезон уже "
                 "начался"}},
            {"2202", "Водоснабжение",
                {"нет горячей воды",
                    "из крана идёт ржавая вода с неприятным запахом"}},
            {"2203", "Вывоз мусора",
                {"контейнеры переполнены, мусор не вывозят больше недели",
                    "контейнерная площадка завалена крупногабаритным "
                    "мусором"}},
            {"2299", "Другое",
                {"в подъезде не работает освещение",
                    "протекает крыша, в квартире на последнем этаже течёт с "
                    "потолка"}}},
        "Лицевой счёт"},
    {"23", "Общественный транспорт",
        {{"2301", "Расписание движения",
             {"автобусы ходят с нарушением расписания, интервал доходит до "
              "часа",
                 "отменили вечерние рейсы, людям не уехать с работы"}},
            {"2302", "Остановочные пункты",
                {"на остановке сломан павильон, нет ни скамейки, ни навеса",
                    "остановка не освещена, вечером стоять опасно"}},
            {"2303", "Работа водителей",
                {"водитель не останавливается по требованию пассажиров",
                    "водитель разговаривает по телефону во время движения"}},
            {"2399", "Другое",
                {"в автобусах не работает оплата банковской картой",
                    "в салоне автобуса зимой не работает отопление"}}},
        "Номер маршрута"},
    {"24", "Благоустройство",
        {{"2401", "Освещение улиц",
             {"не горят уличные фонари, вечером во дворе полная темнота",
                 "фонари горят круглые сутки, в том числе днём"}},
            {"2402", "Детские площадки",
                {"на детской площадке сломаны качели, торчат острые "
                 "детали",
                    "песочница не огорожена, в ней гуляют собаки"}},
            {"2403", "Озеленение",
                {"аварийное дерево нависает над детской площадкой",
                    "газон разъезжен машинами, вместо травы грязь"}},
            {"2499", "Другое",
                {"во дворе не убирают листья и мусор",
                    "разрушена лестница, ведущая к дому"}}},
        NULL},
    {"25", "Здравоохранение",
        {{"2501", "Запись к врачу",
             {"невозможно записаться к терапевту, талонов нет на две "
              "недели вперёд",
                 "в регистратуру поликлиники невозможно дозвониться"}},
            {"2502", "Лекарственное обеспечение",
                {"в аптеке нет льготных лекарств по рецепту",
                    "не выписывают льготный рецепт, ссылаясь на отсутствие "
                    "препарата"}},
            {"2503", "Работа поликлиники",
                {"в поликлинике не работает лифт, пожилым людям не "
                 "подняться",
                    "огромные очереди в регистратуре по утрам"}},
            {"2599", "Другое",
                {"скорая помощь ехала больше часа",
                    "закрыли фельдшерский пункт, ближайший за 30 км"}}},
        "Медицинская организация"},
    {"26", "Образование",
        {{"2601", "Детские сады",
             {"ребёнка не могут устроить в детский сад рядом с домом",
                 "в детском саду не хватает воспитателей"}},
            {"2602", "Школы",
                {"в классах школы холодно, дети сидят в куртках",
                    "школьный автобус не приходит по утрам"}},
            {"2603", "Питание в школе",
                {"в школьной столовой дают холодную еду",
                    "родители жалуются на качество школьных обедов"}},
            {"2699", "Другое",
                {"нет безопасного перехода у школы",
                    "не работает обещанный кружок для детей"}}},
        "Номер школы"},
    {"27", "Экология",
        {{"2701", "Несанкционированные свалки",
             {"в лесу образовалась свалка строительного мусора",
                 "возле гаражей выбрасывают мусор, свалка растёт"}},
            {"2702", "Загрязнение воздуха",
                {"по вечерам в районе сильный запах гари",
                    "предприятие выбрасывает чёрный дым, трудно дышать"}},
            {"2703", "Вырубка деревьев",
                {"вырубают деревья в сквере без объяснений",
                    "спилили здоровые тополя во дворе"}},
            {"2799", "Другое",
                {"в реку сливают сточные воды",
                    "на берегу пруда разлито что-то похожее на мазут"}}},
        NULL},
    {"28", "Социальная защита",
        {{"2801", "Пособия и выплаты",
             {"не поступает пособие на ребёнка",
                 "третий месяц задерживают ежемесячную выплату"}},
            {"2802", "Льготы",
                {"отказали в льготе на оплату жилищно-коммунальных услуг",
                    "не могу получить справку о праве на льготы"}},
            {"2803", "Помощь пожилым",
                {"одинокому пожилому соседу нужна помощь социального "
                 "работника",
                    "социальный работник перестал приходить к пенсионерке"}},
            {"2899", "Другое",
                {"не работает пандус у входа в отделение соцзащиты",
                    "в МФЦ не принимают документы без записи"}}},
        "СНИЛС"},
    {"29", "Связь и интернет",
        {{"2901", "Мобильная связь",
             {"в нашем посёлке нет мобильной связи",
                 "мобильная связь постоянно пропадает"}},
            {"2902", "Интернет",
                {"нет возможности подключить интернет",
                    "интернет работает очень медленно"}},
            {"2903", "Почтовая связь",
                {"почтовое отделение закрыто без объявления",
                    "письма и посылки приходят с опозданием на месяц"}},
            {"2999", "Другое",
                {"у дома повреждён кабель, висит над тротуаром",
                    "не работает общественный Wi-Fi в парке"}}},
        NULL},
    {"30", "Безопасность и порядок",
        {{"3001", "Безнадзорные животные",
             {"во дворе стая бездомных собак, они бросаются на детей",
                 "у школы бегают бездомные собаки"}},
            {"3002", "Нарушение тишины",
                {"по ночам шумит кафе на первом этаже",
                    "ремонт у соседей идёт по ночам и в выходные"}},
            {"3003", "Парковка",
                {"машины паркуются на газоне и на тротуаре",
                    "парковка во дворе занята брошенными автомобилями"}},
            {"3099", "Другое",
                {"в подвале дома собираются посторонние",
                    "на пустыре жгут костры"}}},
        "Удобное время для связи"},
};

#define SIM_GEN_NCATS (sizeof sim_gen_cats / sizeof sim_gen_cats[0])
#define SIM_GEN_N(a) (sizeof(a) / sizeof((a)[0]))

/* Surnames in the masculine form; the feminine one is derived. */
static const char *const sim_gen_surnames[] = {"Иванов", "Смирнов", "Кузнецов",
    "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров",
    "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов",
    "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев",
    "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Дмитриев",
    "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин",
    "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов", "Жуков",
    "Баранов", "Комаров", "Давыдов", "Беляев", "Калинин", "Голубев", "Муравьёв",
    "Островский", "Покровский", "Вишневский", "Успенский", "Высоцкий",
    "Толстой", "Донской", "Черных", "Седых", "Шевчук", "Коваленко",
    "Бондаренко", "Гаврилюк"};

/* Men's names with the patronymics they give to sons and daughters. */
static const struct {
	const char *name, *son, *daughter;
} sim_gen_men[] = {
    {"Александр", "Александрович", "Александровна"},
    {"Алексей", "Алексеевич", "Алексеевна"},
    {"Андрей", "Андреевич", "Андреевна"},
    {"Сергей", "Сергеевич", "Сергеевна"},
    {"Дмитрий", "Дмитриевич", "Дмитриевна"},
    {"Иван", "Иванович", "Ивановна"},
    {"Михаил", "Михайлович", "Михайловна"},
    {"Николай", "Николаевич", "Николаевна"},
    {"Владимир", "Владимирович", "Владимировна"},
    {"Евгений", "Евгеньевич", "Евгеньевна"},
    {"Павел", "Павлович", "Павловна"},
    {"Юрий", "Юрьевич", "Юрьевна"},
    {"Олег", "Олегович", "Олеговна"},
    {"Виктор", "Викторович", "Викторовна"},
    {"Игорь", "Игоревич", "Игоревна"},
    {"Пётр", "Петрович", "Петровна"},
    {"Григорий", "Григорьевич", "Григорьевна"},
    {"Илья", "Ильич", "Ильинична"},
    {"Никита", "Никитич", "Никитична"},
    {"Константин", "Константинович", "Константиновна"},
    {"Василий", "Васильевич", "Васильевна"},
    {"Анатолий", "Анатольевич", "Анатольевна"},
    {"Геннадий", "Геннадьевич", "Геннадьевна"},
    {"Максим", "Максимович", "Максимовна"},
    {"Артём", "Артёмович", "Артёмовна"},
    {"Роман", "Романович", "Романовна"},
    {"Денис", "Денисович", "Денисовна"},
    {"Кирилл", "Кириллович", "Кирилловна"},
    {"Фёдор", "Фёдорович", "Фёдоровна"},
    {"Борис", "Борисович", "Борисовна"},
};

static const char *const sim_gen_women[] = {"Мария", "Анна", "Елена", "Ольга",
    "Наталья", "Татьяна", "Ирина", "Светлана", "Екатерина", "Юлия", "Анастасия",
    "Марина", "Людмила", "Галина", "Валентина", "Надежда", "Дарья", "Ксения",
    "Виктория", "Алина", "Полина", "Вера", "Любовь", "Евгения", "Оксана",
    "Нина", "Тамара", "Софья"};

/* Towns of one region (the organization's), with their centres. */
static const struct {
	const char *name;
	double lat, lon;
} sim_gen_towns[] = {
    {"г. Калуга", 54.5138, 36.2612},
    {"г. Обнинск", 55.0968, 36.6101},
    {"г. Людиново", 53.8687, 34.4361},
    {"г. Малоярославец", 55.0111, 36.4617},
    {"г. Козельск", 54.0353, 35.7808},
    {"г. Кондрово", 54.7965, 35.9342},
    {"г. Киров", 54.0790, 34.3076},
    {"г. Сухиничи", 54.0974, 35.3444},
    {"г. Балабаново", 55.1822, 36.6572},
    {"г. Жуков", 55.0300, 36.7483},
};

static const char *const sim_gen_streets[] = {"ул. Ленина", "ул. Гагарина",
    "ул. Кирова", "ул. Московская", "ул. Садовая", "ул. Мира", "ул. Советская",
    "ул. Пушкина", "пер. Школьный", "ул. Молодёжная", "пр-т Маркса",
    "ул. Победы", "ул. Лесная", "ул. Зелёная", "ул. Циолковского",
    "ул. Строителей", "наб. Речная"};

static const char *const sim_gen_openings[] = {"Здравствуйте!", "Добрый день.",
    "Уважаемые сотрудники!",
    "Обращаюсь к вам по поводу "
    "проблемы.",
    "Здравствуйте, прошу обратить внимание."};

static const char *const sim_gen_durations[] = {
    "Ситуация продолжается уже две недели.", "Так продолжается больше месяца.",
    "Проблема появилась несколько дней "
    "назад.",
    "Это повторяется с начала года.", "Люди страдают от этого уже давно."};

static const char *const sim_gen_requests[] = {"Прошу принять меры.",
    "Прошу разобраться и сообщить о результатах.",
    "Просим устранить проблему в ближайшее время.",
    "Прошу провести проверку и ответить по существу.",
    "Очень надеюсь на вашу помощь."};

static const char *const sim_gen_domains[] = {
    "example.ru", "example.org", "example.com", "mail.example"};

static const char *const sim_gen_contact_times[] = {
    "после 18:00", "в любое время", "с 9:00 до 13:00", "только по выходным"};

/* File types of attachments: name, how often (percent), media type, magic. */
static const struct {
	const char *stem, *ext;
	unsigned weight;
	int numbered; /* "Фото 1.jpg" rather than "Заявление.pdf" */
	const char *mime;
	const char *magic;
	size_t magiclen;
} sim_gen_types[] = {
    {"Фото", ".jpg", 45, 1, "image/jpeg", "\xff\xd8\xff\xe0\0\x10JFIF", 10},
    {"Заявление", ".pdf", 20, 0, "application/pdf", "%PDF-1.7\n", 9},
    {"Скан", ".png", 20, 1, "image/png", "\x89PNG\r\n\x1a\n", 8},
    {"Договор", ".docx", 10, 0,
        "application/vnd.openxmlformats-officedocument.wordprocessingml."
        "document",
        "PK\x03\x04", 4},
    {"Видео", ".mp4", 5, 1, "video/mp4",
        "\0\0\0\x18"
        "ftypmp42",
        12},
};

/* Pick one of a table's strings. */
static const char *
sim_gen_pick(struct sim_rng *r, const char *const *tab, size_t n)
{
	return tab[sim_rng_below(r, (unsigned)n)];
}

/* Does UTF-8 string s end with suffix? */
static int
sim_gen_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The feminine form of a masculine surname (Иванов -> Иванова, etc.). */
static void
sim_gen_feminine(const char *m, char *out, size_t len)
{
	size_t n = strlen(m);

	if (sim_gen_ends(m, "ский") || sim_gen_ends(m, "цкий"))
		snprintf(out, len, "%.*sая", (int)(n - strlen("ий")), m);
	else if (sim_gen_ends(m, "ой"))
		snprintf(out, len, "%.*sая", (int)(n - strlen("ой")), m);
	else if (sim_gen_ends(m, "ов") || sim_gen_ends(m, "ев") ||
	         sim_gen_ends(m, "ёв") || sim_gen_ends(m, "ин") ||
	         sim_gen_ends(m, "ын"))
		snprintf(out, len, "%sа", m);
	else
		snprintf(out, len, "%s", m); /* Черных, Шевчук, Коваленко */
}

/* Latin transliteration of Cyrillic text, lowercase, for e-mail names. */
static void
sim_gen_translit(const char *s, char *out, size_t len)
{
	static const char *const lower[32] = {"a", "b", "v", "g", "d", "e",
	    "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s", "t",
	    "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu",
	    "ya"};
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	unsigned cp;
	const char *t;

	while (*p != '\0' && o + 5 < len) {
		if ((p[0] & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
			cp = ((unsigned)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
			p += 2;
		} else {
			cp = *p++;
		}
		if (cp == 0x401 || cp == 0x451)
			t = "e";
		else if (cp >= 0x410 && cp <= 0x42f)
			t = lower[cp - 0x410];
		else if (cp >= 0x430 && cp <= 0x44f)
			t = lower[cp - 0x430];
		else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
			t = NULL;
		else
			continue;
		if (t == NULL)
			out[o++] = (char)cp;
		else
			while (*t != '\0')
				out[o++] = *t++;
	}
	out[o] = '\0';
}

/* Write the P:Classifier element (the whole classifier). */
void
sim_gen_classifier(struct sim_buf *b, const char *version)
{
	size_t i, j;

	sim_buf_addf(
	    b, SIM_GEN_INDENT "<P:Classifier version=\"%s\">\n", version);
	for (i = 0; i < SIM_GEN_NCATS; i++) {
		sim_buf_addf(b,
		    SIM_GEN_INDENT "  <P:Category code=\"%s\" name=\"",
		    sim_gen_cats[i].code);
		sim_buf_esc(b, sim_gen_cats[i].name);
		sim_buf_add(b, "\">\n");
		for (j = 0; j < SIM_GEN_N(sim_gen_cats[i].sub); j++) {
			sim_buf_addf(b,
			    SIM_GEN_INDENT
			    "    <P:Subcategory code=\"%s\" name=\"",
			    sim_gen_cats[i].sub[j].code);
			sim_buf_esc(b, sim_gen_cats[i].sub[j].name);
			sim_buf_add(b, "\"/>\n");
		}
		sim_buf_add(b, SIM_GEN_INDENT "  </P:Category>\n");
	}
	sim_buf_add(b, SIM_GEN_INDENT "</P:Classifier>\n");
}

/* Append one element with escaped text: <P:name>text</P:name>. */
static void
sim_gen_leaf(
    struct sim_buf *b, const char *indent, const char *name, const char *text)
{
	sim_buf_addf(b, "%s<P:%s>", indent, name);
	sim_buf_esc(b, text);
	sim_buf_addf(b, "</P:%s>\n", name);
}

/* A phone number in one of the forms citizens type. */
static void
sim_gen_phone(struct sim_rng *r, char *out, size_t len)
{
	unsigned a = 900 + sim_rng_below(r, 100), b = sim_rng_below(r, 1000),
	         c = sim_rng_below(r, 100), d = sim_rng_below(r, 100);

	switch (sim_rng_below(r, 3)) {
	case 0:
		snprintf(out, len, "+7%03u%03u%02u%02u", a, b, c, d);
		break;
	case 1:
		snprintf(out, len, "+7 (%03u) %03u-%02u-%02u", a, b, c, d);
		break;
	default:
		snprintf(out, len, "8 %03u %03u-%02u-%02u", a, b, c, d);
		break;
	}
}

/* The applicant: name in the right gender, contacts, ЕСИА flag. */
static void
sim_gen_applicant(struct sim_rng *r, struct sim_buf *b, int *female)
{
	const char *surname, *first, *patr = NULL;
	char sbuf[96], mail[160], lat1[64], lat2[64], phone[32];
	unsigned father, kind;

	*female = sim_rng_percent(r, 55);
	surname =
	    sim_gen_pick(r, sim_gen_surnames, SIM_GEN_N(sim_gen_surnames));
	father = sim_rng_below(r, SIM_GEN_N(sim_gen_men));
	if (*female) {
		sim_gen_feminine(surname, sbuf, sizeof sbuf);
		first =
		    sim_gen_pick(r, sim_gen_women, SIM_GEN_N(sim_gen_women));
		patr = sim_gen_men[father].daughter;
	} else {
		snprintf(sbuf, sizeof sbuf, "%s", surname);
		first =
		    sim_gen_men[sim_rng_below(r, SIM_GEN_N(sim_gen_men))].name;
		patr = sim_gen_men[father].son;
	}
	if (sim_rng_percent(r, 10))
		patr = NULL;
	sim_buf_addf(b, SIM_GEN_INDENT "  <P:Applicant esiaVerified=\"%s\">\n",
	    sim_rng_percent(r, 80) ? "true" : "false");
	sim_gen_leaf(b, SIM_GEN_INDENT "    ", "Surname", sbuf);
	sim_gen_leaf(b, SIM_GEN_INDENT "    ", "Name", first);
	if (patr != NULL)
		sim_gen_leaf(b, SIM_GEN_INDENT "    ", "Patronymic", patr);
	if (sim_rng_percent(r, 85)) {
		sim_gen_translit(first, lat1, sizeof lat1);
		sim_gen_translit(sbuf, lat2, sizeof lat2);
		kind = sim_rng_below(r, 3);
		if (kind == 0)
			snprintf(mail, sizeof mail, "%c.%s@%s", lat1[0], lat2,
			    sim_gen_pick(r, sim_gen_domains,
			        SIM_GEN_N(sim_gen_domains)));
		else if (kind == 1)
			snprintf(mail, sizeof mail, "%s.%s@%s", lat1, lat2,
			    sim_gen_pick(r, sim_gen_domains,
			        SIM_GEN_N(sim_gen_domains)));
		else
			snprintf(mail, sizeof mail, "%s%u@%s", lat2,
			    1950 + sim_rng_below(r, 56),
			    sim_gen_pick(r, sim_gen_domains,
			        SIM_GEN_N(sim_gen_domains)));
		sim_gen_leaf(b, SIM_GEN_INDENT "    ", "Email", mail);
	}
	if (sim_rng_percent(r, 75)) {
		sim_gen_phone(r, phone, sizeof phone);
		sim_gen_leaf(b, SIM_GEN_INDENT "    ", "Phone", phone);
	}
	sim_buf_add(b, SIM_GEN_INDENT "  </P:Applicant>\n");
}

/* A custom form field typical of the category (or a contact time). */
static void
sim_gen_field(struct sim_rng *r, const char *field, struct sim_buf *b)
{
	if (field == NULL)
		field = "Удобное время для связи";
	sim_buf_add(b, SIM_GEN_INDENT "  <P:Field name=\"");
	sim_buf_esc(b, field);
	sim_buf_add(b, "\">");
	if (strcmp(field, "Госномер автомобиля") == 0)
		sim_buf_addf(b, "А%03uВС%u", 1 + sim_rng_below(r, 998),
		    40 + sim_rng_below(r, 2) * 100);
	else if (strcmp(field, "Медицинская организация") == 0)
		sim_buf_addf(
		    b, "Городская поликлиника № %u", 1 + sim_rng_below(r, 9));
	else if (strcmp(field, "СНИЛС") == 0)
		sim_buf_addf(b, "%03u-%03u-%03u %02u", sim_rng_below(r, 1000),
		    sim_rng_below(r, 1000), sim_rng_below(r, 1000),
		    sim_rng_below(r, 100));
	else if (strcmp(field, "Лицевой счёт") == 0)
		sim_buf_addf(b, "40%08u", sim_rng_below(r, 100000000));
	else if (strcmp(field, "Номер маршрута") == 0)
		sim_buf_addf(b, "%u", 1 + sim_rng_below(r, 120));
	else if (strcmp(field, "Номер школы") == 0)
		sim_buf_addf(b, "%u", 1 + sim_rng_below(r, 60));
	else
		sim_buf_esc(b, sim_gen_pick(r, sim_gen_contact_times,
		                   SIM_GEN_N(sim_gen_contact_times)));
	sim_buf_add(b, "</P:Field>\n");
}

/*
 * Write appeal i's P:Appeal element into b and decide its attachments
 * (att[] comes with the header ids filled in); out gets the rest.
 */
void
sim_gen_appeal(const struct sim_opts *o, size_t i, size_t as, time_t now,
    struct sim_buf *b, struct sim_att *att, struct sim_gen_out *out)
{
	const struct sim_gen_cat *cat;
	const struct sim_gen_sub *sub;
	struct sim_buf t = {0};
	char created[32], deadline[32], addr[256], num[16];
	unsigned town, k, j, w, seen[SIM_GEN_N(sim_gen_types)];
	struct sim_rng r, r2;
	int female, fz59;

	memset(out, 0, sizeof *out);
	time_t when;
	struct tm tm;

	sim_rng_seed(&r, o->seed ^ (0xd1b54a32d192ed03ULL * (i + 1)));
	fz59 = sim_rng_percent(&r, o->appeal59_share);
	when = now - (time_t)sim_rng_below(&r, 3600);
	sim_timestamp(when, created, sizeof created);
	snprintf(out->created, sizeof out->created, "%s", created);
	when += (time_t)(fz59 ? 30 : 10) * 86400;
	gmtime_r(&when, &tm);
	strftime(deadline, sizeof deadline, "%Y-%m-%d", &tm);
	cat = &sim_gen_cats[sim_rng_below(&r, SIM_GEN_NCATS)];
	sub = &cat->sub[sim_rng_below(&r, SIM_GEN_N(cat->sub))];
	out->category = cat->code;

	sim_buf_addf(b,
	    SIM_GEN_INDENT "<P:Appeal id=\"%llu\" kind=\"%s\" createdAt=\"%s\" "
	                   "deadline=\"%s\">\n",
	    (unsigned long long)(SIM_POS_BASE + as),
	    fz59 ? "APPEAL_59FZ" : "MESSAGE", created, deadline);
	/* the ЛКО and territory from a stream of their own: the rest of the
	 * appeal stays what the seed made it before there were several */
	sim_rng_seed(&r2, o->seed ^ (0x9e3779b97f4a7c15ULL * (i + 7)));
	out->lko = o->nlko > 1 ? sim_rng_below(&r2, (unsigned)o->nlko) : 0;
	out->oktmo =
	    o->noktmo > 0 ? (int)sim_rng_below(&r2, (unsigned)o->noktmo) : -1;
	sim_buf_addf(b,
	    SIM_GEN_INDENT "  <P:Organization lkoId=\"%s\" oktmo=\"29701000\">",
	    o->lko_ids[out->lko]);
	if (out->lko == 0)
		sim_buf_add(b, "Правительство Калужской области");
	else
		sim_buf_addf(b, "Организация %s", o->lko_ids[out->lko]);
	sim_buf_add(b, "</P:Organization>\n");
	sim_buf_addf(b, SIM_GEN_INDENT "  <P:Category code=\"%s\">", cat->code);
	sim_buf_esc(b, cat->name);
	sim_buf_add(b, "</P:Category>\n");
	if (sim_rng_percent(&r, 90)) {
		sim_buf_addf(b, SIM_GEN_INDENT "  <P:Subcategory code=\"%s\">",
		    sub->code);
		sim_buf_esc(b, sub->name);
		sim_buf_add(b, "</P:Subcategory>\n");
	}
	sim_gen_applicant(&r, b, &female);

	town = sim_rng_below(&r, SIM_GEN_N(sim_gen_towns));
	snprintf(addr, sizeof addr, "%s, %s, д. %u", sim_gen_towns[town].name,
	    sim_gen_pick(&r, sim_gen_streets, SIM_GEN_N(sim_gen_streets)),
	    1 + sim_rng_below(&r, 150));
	if (sim_rng_percent(&r, 40)) {
		snprintf(
		    num, sizeof num, ", кв. %u", 1 + sim_rng_below(&r, 200));
		strncat(addr, num, sizeof addr - strlen(addr) - 1);
	}
	if (sim_rng_percent(&r, 80))
		sim_buf_addf(&t, "%s ",
		    sim_gen_pick(
		        &r, sim_gen_openings, SIM_GEN_N(sim_gen_openings)));
	sim_buf_addf(&t, "По адресу: %s — %s. %s", addr,
	    sub->problem[sim_rng_below(&r, 2)],
	    sim_gen_pick(&r, sim_gen_durations, SIM_GEN_N(sim_gen_durations)));
	if (sim_rng_percent(&r, 30))
		sim_buf_addf(&t,
		    " Ранее я уже %s с этим вопросом, но ничего не "
		    "изменилось.",
		    female ? "обращалась" : "обращался");
	sim_buf_addf(&t, " %s",
	    sim_gen_pick(&r, sim_gen_requests, SIM_GEN_N(sim_gen_requests)));
	sim_gen_leaf(b, SIM_GEN_INDENT "  ", "Text", t.s);
	snprintf(out->text, sizeof out->text, "%s", t.s);
	sim_buf_free(&t);

	/* with territories given, every appeal has a location with one */
	if (out->oktmo >= 0 || sim_rng_percent(&r, 80)) {
		char ok[40] = "";
		if (out->oktmo >= 0)
			snprintf(ok, sizeof ok, " oktmo=\"%s\"",
			    o->oktmo[out->oktmo]);
		if (sim_rng_percent(&r, 50))
			sim_buf_addf(b,
			    SIM_GEN_INDENT
			    "  <P:Location%s lat=\"%.6f\" lon=\"%.6f\">",
			    ok,
			    sim_gen_towns[town].lat +
			        ((double)sim_rng_below(&r, 6000) - 3000) / 1e5,
			    sim_gen_towns[town].lon +
			        ((double)sim_rng_below(&r, 6000) - 3000) / 1e5);
		else
			sim_buf_addf(b, SIM_GEN_INDENT "  <P:Location%s>", ok);
		sim_buf_esc(b, addr);
		sim_buf_add(b, "</P:Location>\n");
	}
	if (sim_rng_percent(&r, 30))
		sim_gen_field(&r, cat->field, b);

	out->fz59 = fz59;
	out->natt = sim_rng_below(&r, o->attachments + 1);
	if (o->attachments_exact)
		out->natt = o->attachments;
	/* exactly attachment_share % of the appeals, spread evenly */
	if (o->attachment_share < 100 && (i + 1) * o->attachment_share / 100 ==
	                                     i * o->attachment_share / 100)
		out->natt = 0;
	memset(seen, 0, sizeof seen);
	for (k = 0; k < out->natt; k++) {
		for (j = 0, w = sim_rng_below(&r, 100);
		     j + 1 < SIM_GEN_N(sim_gen_types) &&
		     w >= sim_gen_types[j].weight;
		     j++)
			w -= sim_gen_types[j].weight;
		seen[j]++;
		att[k].type = j;
		att[k].mime = sim_gen_types[j].mime;
		att[k].size = o->attachment_size;
		att[k].seed = sim_rng_next(&r);
		if (sim_gen_types[j].numbered)
			snprintf(att[k].name, sizeof att[k].name, "%s %u%s",
			    sim_gen_types[j].stem, seen[j],
			    sim_gen_types[j].ext);
		else if (seen[j] > 1)
			snprintf(att[k].name, sizeof att[k].name, "%s (%u)%s",
			    sim_gen_types[j].stem, seen[j],
			    sim_gen_types[j].ext);
		else
			snprintf(att[k].name, sizeof att[k].name, "%s%s",
			    sim_gen_types[j].stem, sim_gen_types[j].ext);
		sim_buf_addf(b,
		    SIM_GEN_INDENT "  <P:Attachment headerId=\"%s\" name=\"",
		    att[k].id);
		sim_buf_esc(b, att[k].name);
		sim_buf_addf(b, "\" size=\"%llu\" mimeType=\"%s\"/>\n",
		    (unsigned long long)att[k].size, att[k].mime);
	}
	out->race = out->natt > 0 && sim_rng_below(&r, 3) == 0;
	sim_buf_add(b, SIM_GEN_INDENT "</P:Appeal>\n");
}

/* Write the P:Feedback element for an answered appeal; sets rating. */
void
sim_gen_feedback(struct sim_rng *r, uint64_t pos_id, time_t now,
    struct sim_buf *b, const char *indent, int *rating)
{
	static const char *const comments[5][2] = {
	    {"Ответ формальный, проблема не решена.",
	        "Никто ничего не сделал, только отписка."},
	    {"Ответили не по существу.", "Обещали, но до сих пор не сделали."},
	    {"Частично решили, но не полностью.",
	        "Ответ получен, посмотрим, будет ли результат."},
	    {"Спасибо, проблему решили.", "Сделали, хотя и не сразу."},
	    {"Большое спасибо, всё сделали быстро!",
	        "Спасибо за оперативную работу."},
	};
	char at[32];
	int re;

	*rating = 1 + (int)sim_rng_below(r, 5);
	re = sim_rng_percent(r, *rating <= 2 ? 40 : 5);
	sim_timestamp(now, at, sizeof at);
	sim_buf_addf(b,
	    "%s<P:Feedback appealId=\"%llu\" rating=\"%d\" reAppeal=\"%s\" "
	    "at=\"%s\">",
	    indent, (unsigned long long)pos_id, *rating, re ? "true" : "false",
	    at);
	sim_buf_esc(b, comments[*rating - 1][sim_rng_below(r, 2)]);
	sim_buf_add(b, "</P:Feedback>\n");
}

/* A refusal a ПОС moderator might give: code and reason. */
void
sim_gen_refusal(struct sim_rng *r, const char **code, const char **reason)
{
	static const char *const tab[][2] = {
	    {"ANSWER_NOT_ON_MERIT", "Ответ не содержит ответа по существу"},
	    {"WRONG_REGISTRATION", "Неверно указаны регистрационные данные"},
	    {"DEADLINE_VIOLATED", "Нарушен срок рассмотрения"},
	    {"MODERATOR", "Отклонено модератором ПОС"},
	};
	unsigned k = sim_rng_below(r, SIM_GEN_N(tab));

	*code = tab[k][0];
	*reason = tab[k][1];
}

/* Write an attachment's whole content (magic bytes, then noise) to fd. */
int
sim_gen_write(int fd, const struct sim_att *a)
{
	unsigned char buf[65536];
	uint64_t left = a->size, v = 0;
	struct sim_rng r;
	size_t n, k, off = 0;

	sim_rng_seed(&r, a->seed);
	while (left > 0) {
		n = left < sizeof buf ? (size_t)left : sizeof buf;
		for (k = 0; k < n; k++) {
			if (k % 8 == 0)
				v = sim_rng_next(&r);
			buf[k] = (unsigned char)(v >> (8 * (k % 8)));
		}
		if (off == 0) {
			k = sim_gen_types[a->type].magiclen;
			memcpy(
			    buf, sim_gen_types[a->type].magic, k < n ? k : n);
		}
		if (fs_write_all(fd, buf, n) == -1)
			return -1;
		off += n;
		left -= n;
	}
	return 0;
}
