"""Our own French jokes, seeded next to pyjokes' ones.

Family-friendly puns in the "Blagues Carambar" tradition. French typography: a space
before ``? ! : ;`` and inside « guillemets ». A plain space rather than a narrow no-break
one, because the seed's contract example ("Où est caché le canard ? Dans le coin.") uses a
plain space and every joke should look alike on a display screen.

Append new jokes at the end: ids follow this order at first seeding, and a joke's text is
its identity (changing a text adds a new joke instead of editing the old one).
"""

FRENCH_JOKES: tuple[str, ...] = (
    "Où est caché le canard ? Dans le coin.",
    "Qu'est-ce qui fait « nioc nioc » ? Un canard qui marche en arrière.",
    "Pourquoi les canards sont-ils toujours à l'heure ? Parce qu'ils sont dans l'étang.",
    "Quel est le comble pour un canard ? Avoir la chair de poule.",
    "Quel fruit les canards préfèrent-ils ? Le coing.",
    "Que dit un canard quand il va aux toilettes ? Je vais au petit coin.",
    "Pourquoi les canards adorent-ils la pluie ? Parce que c'est un temps de canard.",
    "Que dit une imprimante dans l'eau ? J'ai papier !",
    "Qu'est-ce qui est jaune et qui attend ? Jonathan.",
    "Que fait un crocodile quand il croise une jolie femelle ? Il Lacoste.",
    "Pourquoi les poissons vivent-ils dans l'eau salée ? Parce que dans l'eau poivrée, "
    "ils éternuent.",
    "Quel est le sport le plus fruité ? La boxe : quand tu prends une pêche en pleine poire, "
    "tu tombes dans les pommes et tu ne ramènes plus ta fraise.",
    "Comment appelle-t-on un chat tombé dans un pot de peinture le jour de Noël ? "
    "Un chat-peint de Noël.",
    "Que dit un oignon quand il se cogne ? Aïe !",
    "Que se passe-t-il quand deux poissons s'énervent ? Le thon monte.",
    "Quel est le comble pour un électricien ? Ne pas être au courant.",
    "Quel est le comble pour un jardinier ? Raconter des salades.",
    "Quel est le comble pour un boulanger ? Être dans le pétrin.",
    "Quel est le comble pour un chauve ? Avoir un cheveu sur la langue.",
    "Pourquoi les plongeurs plongent-ils toujours en arrière ? Parce que sinon, "
    "ils tombent dans le bateau.",
    "Qu'est-ce qui est petit, carré et jaune ? Un petit carré jaune.",
    "Pourquoi les éléphants n'ont-ils pas d'ordinateur ? Parce qu'ils ont peur de la souris.",
    "Comment appelle-t-on un boomerang qui ne revient pas ? Un bâton.",
    "Qu'est-ce qu'un yaourt dans la forêt ? Un yaourt nature.",
    "Pourquoi le hibou est-il toujours heureux ? Parce que sa femme est chouette.",
    "Que dit un zéro à un huit ? Jolie ceinture !",
    "Pourquoi les fantômes mentent-ils si mal ? Parce qu'on voit à travers eux.",
    "Que fait une fraise sur un cheval ? Tagada, tagada !",
    "Pourquoi les vaches ferment-elles les yeux pendant la traite ? Pour faire du lait concentré.",
    "Que dit un citron qui fait un hold-up ? Plus un zeste !",
    "Pourquoi les squelettes ne se battent-ils jamais ? Parce qu'ils n'ont pas le cœur à ça.",
    "Monsieur et Madame Térieur ont deux fils. Comment s'appellent-ils ? Alain et Alex.",
    "Monsieur et Madame Nette ont une fille. Comment s'appelle-t-elle ? Marie.",
    "Pourquoi le livre de maths est-il triste ? Parce qu'il a trop de problèmes.",
    "Comment appelle-t-on un chat qui va dans l'espace ? Un chatellite.",
    "Qu'est-ce qui est vert et qui monte et descend ? Un petit pois dans un ascenseur.",
    "Pourquoi les pêcheurs ne sont-ils jamais gros ? Parce qu'ils surveillent leur ligne.",
    "Comment appelle-t-on une chauve-souris avec une perruque ? Une souris.",
    "Que dit une noisette quand elle tombe à l'eau ? Je me noix !",
    "Que fait un informaticien quand il a peur ? Il URL !",
    "Pourquoi les programmeurs confondent-ils Halloween et Noël ? Parce que OCT 31 = DEC 25.",
)
