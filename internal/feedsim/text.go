package feedsim

// language is the stories of one language: matching ones are about North Korean troops fighting
// for Russia or about Kursk, so that the example rules match them; the others are not.
type language struct {
	matching, other [][2]string // title, description
}

var languages = []language{
	{ // English
		matching: [][2]string{
			{"North Korean troops seen near Kursk", "Soldiers from North Korea were deployed to the Kursk region, officials said."},
			{"Fighting continues in the Kursk region", "Shelling was reported overnight near the town of Sudzha."},
			{"Pyongyang sends more soldiers to Russia", "The DPRK has sent thousands of troops to fight for Russia, according to intelligence."},
		},
		other: [][2]string{
			{"Markets close higher", "Stocks rose on Tuesday as investors weighed new data."},
			{"Storm brings floods to the coast", "Heavy rain cut power to thousands of homes."},
			{"Parliament passes budget", "The vote followed weeks of negotiation."},
			{"Football: late goal settles derby", "The home side won one-nil."},
		},
	},
	{ // Russian
		matching: [][2]string{
			{"Бои в Курской области продолжаются", "Ночью сообщалось об обстрелах под Суджей."},
			{"Военные КНДР замечены под Курском", "Солдаты из Северной Кореи переброшены в регион."},
		},
		other: [][2]string{
			{"Биржи закрылись ростом", "Индексы выросли во вторник."},
			{"Снегопад парализовал движение", "Дороги занесло за ночь."},
		},
	},
	{ // Ukrainian
		matching: [][2]string{
			{"Бої на Курщині тривають", "Сили оборони повідомляють про просування у Курській області."},
		},
		other: [][2]string{
			{"Уряд ухвалив бюджет", "Рішення ухвалено після тривалих переговорів."},
			{"Відкрито новий міст", "Рух мостом розпочнеться завтра."},
		},
	},
	{ // Korean
		matching: [][2]string{
			{"북한군 쿠르스크 전선 투입", "북한 병력이 러시아 쿠르스크 지역에 배치됐다고 당국이 밝혔다."},
		},
		other: [][2]string{
			{"코스피 상승 마감", "외국인 매수세에 지수가 올랐다."},
			{"태풍 북상에 비상", "해안 지역에 대피령이 내려졌다."},
		},
	},
	{ // Japanese
		matching: [][2]string{
			{"北朝鮮兵、クルスク州に展開", "北朝鮮の兵士がロシアのクルスク州で確認された。"},
		},
		other: [][2]string{
			{"株価が反発", "東京市場は大幅に上昇した。"},
			{"新幹線が一時運転見合わせ", "強風の影響で遅れが出た。"},
		},
	},
	{ // German
		matching: [][2]string{
			{"Nordkoreanische Soldaten in Kursk", "Nordkorea hat Truppen nach Russland geschickt, berichten Geheimdienste."},
		},
		other: [][2]string{
			{"Bundestag beschließt Haushalt", "Die Abstimmung folgte wochenlangen Verhandlungen."},
			{"Bahnstreik angekündigt", "Pendler müssen sich auf Ausfälle einstellen."},
		},
	},
}
